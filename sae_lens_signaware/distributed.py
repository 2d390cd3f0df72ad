"""The few ``torch.distributed`` collectives that data-parallel training needs.

Every function is a no-op (or the identity) when no process group is
initialised, so single-process code calls them unconditionally. Ranks must call
them in the same order (they are collectives). A collective that fails (a rank
died, the group timed out) raises ``DistributedError`` naming the operation.

``init_from_env`` starts the process group that ``torchrun`` describes in the
environment (``WORLD_SIZE``, ``RANK``, ``LOCAL_RANK``, ``MASTER_ADDR``, ...):
NCCL when CUDA is available, gloo otherwise, with a timeout
(``SAE_SIGNAWARE_DIST_TIMEOUT`` seconds, default 300) after which a rank that
waits on a dead peer fails instead of hanging.
"""

import os
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any, TypeVar

import torch
import torch.distributed as dist

TIMEOUT_ENV = "SAE_SIGNAWARE_DIST_TIMEOUT"
DEFAULT_TIMEOUT_S = 300.0

T = TypeVar("T")


class DistributedError(RuntimeError):
    """A collective failed: another rank died or the group timed out."""


def is_distributed() -> bool:
    """True inside an initialised process group of more than one rank."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    return dist.get_rank() if is_distributed() else 0


def world_size() -> int:
    return dist.get_world_size() if is_distributed() else 1


def is_main_process() -> bool:
    """Rank 0, or the only process: the one that writes files and logs."""
    return rank() == 0


def timeout_seconds() -> float:
    raw = os.environ.get(TIMEOUT_ENV, str(DEFAULT_TIMEOUT_S))
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(
            f"{TIMEOUT_ENV} must be a number of seconds, got {raw!r}"
        ) from None
    if not value > 0:
        raise ValueError(f"{TIMEOUT_ENV} must be > 0, got {raw!r}")
    return value


def init_from_env() -> bool:
    """Start the process group ``torchrun`` describes, if any; True when distributed.

    Does nothing when a group is already initialised or ``WORLD_SIZE`` is unset or 1.
    """
    if dist.is_initialized():
        return is_distributed()
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return False
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group(backend, timeout=timedelta(seconds=timeout_seconds()))
    return True


def device() -> torch.device:
    """The device this rank computes on: its GPU under NCCL, else the CPU."""
    if is_distributed() and dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def _run(name: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except (RuntimeError, dist.DistBackendError) as e:
        raise DistributedError(
            f"torch.distributed {name} failed on rank {rank()} of {world_size()} "
            f"(another rank died or the group timed out after {timeout_seconds():g} s; "
            f"set {TIMEOUT_ENV} to change the timeout): {e}"
        ) from e


def all_reduce_(tensor: torch.Tensor, op: str = "sum") -> torch.Tensor:
    """In place: ``sum``, ``mean``, ``max`` or ``min`` over ranks (identity alone)."""
    if not is_distributed():
        return tensor
    ops = {
        "sum": dist.ReduceOp.SUM,
        "mean": dist.ReduceOp.SUM,
        "max": dist.ReduceOp.MAX,
    }
    ops["min"] = dist.ReduceOp.MIN
    if op not in ops:
        raise ValueError(f"op must be one of {sorted(ops)}, got {op!r}")
    work = tensor.to(device())
    _run(f"all_reduce({op})", dist.all_reduce, work, ops[op])
    if op == "mean":
        work /= world_size()
    if work is not tensor:
        tensor.copy_(work)
    return tensor


def mean_over_ranks(value: float) -> float:
    """The mean of a Python number over ranks (the number itself alone)."""
    if not is_distributed():
        return value
    return float(all_reduce_(torch.tensor([value], dtype=torch.float64), "mean"))


def any_rank(flag: bool) -> bool:
    """True on every rank if ``flag`` is true on any rank (``flag`` alone)."""
    if not is_distributed():
        return flag
    return bool(all_reduce_(torch.tensor([float(flag)]), "max").item())


def gather_rows(tensor: torch.Tensor) -> torch.Tensor:
    """Every rank's ``tensor`` (same shape on all ranks) concatenated along dim 0,
    in rank order: the global batch, on every rank."""
    if not is_distributed():
        return tensor
    work = tensor.contiguous().to(device())
    parts = [torch.empty_like(work) for _ in range(world_size())]
    _run("all_gather", dist.all_gather, parts, work)
    return torch.cat(parts).to(tensor.device)


def broadcast_(tensors: Iterable[torch.Tensor], src: int = 0) -> None:
    """Copy rank ``src``'s tensors into every rank's, in place."""
    if not is_distributed():
        return
    for tensor in tensors:
        work = tensor.data.to(device())
        _run("broadcast", dist.broadcast, work, src)
        if work is not tensor.data:
            tensor.data.copy_(work)


def broadcast_object(value: T, src: int = 0) -> T:
    """Rank ``src``'s ``value`` (any picklable object) on every rank (``value`` alone):
    e.g. the path of a checkpoint that only rank 0 wrote."""
    if not is_distributed():
        return value
    box: list[Any] = [value]
    # the pickled bytes travel on this rank's device (its GPU under NCCL)
    _run("broadcast_object_list", dist.broadcast_object_list, box, src, None, device())
    return box[0]


def average_gradients_(parameters: Iterable[torch.nn.Parameter]) -> None:
    """Replace each gradient by its mean over ranks (as DistributedDataParallel
    does), with one ``all_reduce`` per dtype over the flattened gradients."""
    if not is_distributed():
        return
    by_dtype: dict[torch.dtype, list[torch.Tensor]] = {}
    for param in parameters:
        if param.grad is not None:
            by_dtype.setdefault(param.grad.dtype, []).append(param.grad)
    for grads in by_dtype.values():
        flat = all_reduce_(torch.cat([g.reshape(-1) for g in grads]), "mean")
        for grad, value in zip(
            grads, flat.split([g.numel() for g in grads]), strict=True
        ):
            grad.copy_(value.view_as(grad))


def barrier() -> None:
    if is_distributed():
        _run("barrier", dist.barrier)
