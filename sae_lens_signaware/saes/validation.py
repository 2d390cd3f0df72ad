"""Strict types for every config field, ours and the SAELens fields we pass on.

``check_fields`` walks a config dataclass by its annotations, so a field added
later is checked too:

- ``bool``: ``True``/``False``; the words ``"true"``/``"false"``, ``"yes"``/``"no"``,
  ``"on"``/``"off"``, ``"1"``/``"0"`` (any case) and the ints 1 and 0 are
  parsed to the boolean they mean (a ``cfg.json`` or a command line gives
  strings); anything else is refused, never stored;
- ``int``: an int, not a bool (``d_sae=True`` is refused);
- ``float``: an int or a float, not a bool or a string;
- ``Literal[...]``: one of the listed values;
- ``X | None``: None or an ``X``.

``check_sae_fields`` adds the ranges of SAELens's own fields: ``d_in``/``d_sae``
> 0, ``dtype`` a torch floating dtype, ``device`` a device torch can parse,
``decoder_init_norm`` None or finite > 0, and ``target_l0 <= d_sae``.
"""

import dataclasses
import math
import os
import types
import typing
from typing import Any, Literal, Union  # noqa: TID251 (compared at runtime)

import torch

TRUE_WORDS = ("true", "yes", "on", "1")
FALSE_WORDS = ("false", "no", "off", "0")
DTYPES = ("float32", "float64", "float16", "bfloat16")
DEVICE_TYPES = ("cpu", "cuda", "mps", "xpu", "meta", "hpu", "npu", "xla")


def _fail(cfg: object, name: str, value: object, rule: str) -> ValueError:
    return ValueError(f"{type(cfg).__name__}.{name} must be {rule}, got {value!r}.")


def parse_bool(value: object) -> bool | None:
    """The boolean ``value`` means (see module docstring), or None if it means none."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
    return None


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _coerce(cfg: object, name: str, kind: Any, value: Any) -> Any:
    """``value`` checked (and, for a bool, parsed) against the annotation ``kind``."""
    origin = typing.get_origin(kind)
    if origin in (Union, types.UnionType):
        options = [k for k in typing.get_args(kind) if k is not type(None)]
        if value is None and len(options) < len(typing.get_args(kind)):
            return None
        if len(options) == 1:
            return _coerce(cfg, name, options[0], value)
        return value
    if origin is Literal:
        choices = typing.get_args(kind)
        if value not in choices:
            raise _fail(cfg, name, value, f"one of {choices}")
        return value
    if kind is bool:
        parsed = parse_bool(value)
        if parsed is None:
            raise _fail(cfg, name, value, "a bool (true/false, yes/no, 1/0)")
        return parsed
    if kind is int and not _is_int(value):
        raise _fail(cfg, name, value, "an int")
    if kind is float and not _is_number(value):
        raise _fail(cfg, name, value, "a number")
    if kind is str and not isinstance(value, str):
        raise _fail(cfg, name, value, "a string")
    return value


def check_fields(cfg: Any) -> None:
    """Check every annotated field of the SAE config ``cfg`` (``check_field_types``)
    and the ranges of SAELens's fields (``check_sae_fields``)."""
    check_field_types(cfg)
    check_sae_fields(cfg)


def _type_hints(cls: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls)
    except (NameError, TypeError):  # an annotation only importable for type checkers
        return {f.name: f.type for f in dataclasses.fields(cls)}


def check_field_types(cfg: Any) -> None:
    """Check every annotated field of the dataclass ``cfg``; parse bool words in place."""
    hints = _type_hints(type(cfg))
    for field in dataclasses.fields(cfg):
        kind = hints.get(field.name)
        if kind is None:
            continue
        value = getattr(cfg, field.name)
        checked = _coerce(cfg, field.name, kind, value)
        if checked is not value:
            object.__setattr__(cfg, field.name, checked)


def check_dtype_and_devices(cfg: Any, devices: tuple[str, ...]) -> None:
    """``cfg.dtype`` a torch floating dtype name, each of ``devices`` None or a device."""
    if cfg.dtype not in DTYPES:
        raise _fail(cfg, "dtype", cfg.dtype, f"one of {DTYPES}")
    for name in devices:
        value = getattr(cfg, name)
        if value is None:
            continue
        try:
            device_type = torch.device(value).type
        except (RuntimeError, TypeError):
            device_type = None
        if device_type not in DEVICE_TYPES:
            rule = "a torch device such as 'cpu' or 'cuda:0'"
            raise _fail(cfg, name, value, rule)


def check_sae_fields(cfg: Any) -> None:
    """Ranges of SAELens's ``SAEConfig``/``TrainingSAEConfig`` fields (and ``target_l0``)."""
    for name in ("d_in", "d_sae"):
        value = getattr(cfg, name)
        if not (_is_int(value) and value > 0):
            raise _fail(cfg, name, value, "an int > 0")
    check_dtype_and_devices(cfg, ("device",))
    norm = getattr(cfg, "decoder_init_norm", None)
    if norm is not None and not (_is_number(norm) and math.isfinite(norm) and norm > 0):
        raise _fail(cfg, "decoder_init_norm", norm, "None or a finite number > 0")
    target = getattr(cfg, "target_l0", None)
    if _is_number(target) and target > cfg.d_sae:
        raise _fail(cfg, "target_l0", target, f"at most d_sae={cfg.d_sae}")
    check_memory(cfg)


#: bytes per parameter a training run holds: the value, its gradient and
#: Adam's two moments
TRAINING_COPIES = 4


def device_memory(device: str) -> int | None:
    """Total memory of ``device`` in bytes (the machine's RAM for the CPU), if known."""
    kind = torch.device(device).type
    if kind == "cuda":
        if not torch.cuda.is_available():
            return None
        index = torch.device(device).index or 0
        return int(torch.cuda.get_device_properties(index).total_memory)
    if kind == "cpu":
        try:
            return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
        except (ValueError, OSError, AttributeError):
            return None
    return None


def check_memory(cfg: Any) -> None:
    """Refuse a width whose parameters cannot fit the config's device, with the
    figures: ``W_enc`` and ``W_dec`` (and ``W_enc_neg`` per-sign), times
    ``TRAINING_COPIES`` for a training config, before anything is allocated."""
    if cfg.dtype not in DTYPES:
        return
    matrices = 3 if getattr(cfg, "sign_encoders", "shared") == "per_sign" else 2
    n_params = matrices * cfg.d_in * cfg.d_sae + 8 * cfg.d_sae + cfg.d_in
    copies = TRAINING_COPIES if hasattr(cfg, "decoder_init_norm") else 1
    element = torch.empty((), dtype=getattr(torch, cfg.dtype)).element_size()
    need = n_params * element * copies
    have = device_memory(cfg.device)
    if have is not None and need > have:
        what = "with gradients and Adam's moments" if copies > 1 else "of parameters"
        raise ValueError(
            f"{type(cfg).__name__}.d_sae={cfg.d_sae} (d_in={cfg.d_in}) needs about "
            f"{need / 2**30:,.1f} GiB {what} on {cfg.device}, which has "
            f"{have / 2**30:,.1f} GiB; choose a smaller d_sae"
        )
