"""Output helpers shared by the synthetic protocols."""

import functools
import io
import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import matplotlib
import torch

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from sae_lens_signaware.outputs import write_atomic  # noqa: E402


def clean(value: Any) -> Any:
    """JSON-able copy: NaN and inf become None, tuples become lists."""
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_outputs(
    result: dict[str, Any], fig: Figure, out_dir: Path | None, stem: str
) -> dict[str, Any]:
    """Write ``{stem}.json`` and ``{stem}.png`` into ``out_dir`` (if given), each
    whole (``outputs.write_atomic``), the plot first: a failure leaves no file
    of a new result (the JSON is the record of a finished run)."""
    result = clean(result)
    try:
        if out_dir is not None:
            out_dir.mkdir(parents=True, exist_ok=True)
            result["files"] = {"json": str(out_dir / f"{stem}.json")}
            result["files"]["png"] = str(out_dir / f"{stem}.png")
            png = io.BytesIO()
            fig.savefig(png, format="png", dpi=110, bbox_inches="tight")
            text = json.dumps(result, indent=2, allow_nan=False) + "\n"
            write_atomic(out_dir / f"{stem}.png", png.getvalue())
            write_atomic(out_dir / f"{stem}.json", text)
    finally:
        plt.close(fig)
    return result


def subplots(n: int, width: float = 5.0) -> tuple[Figure, Any]:
    fig, axes = plt.subplots(1, n, figsize=(width * n, 4.0), squeeze=False)
    return fig, axes[0]


def plot_curve(ax: Any, rows: list[dict[str, Any]], x: str, y: str, label: str) -> None:
    """One architecture's ``y`` against ``x`` over ``rows``, as points joined by lines."""
    ax.plot([r[x] for r in rows], [r[y] for r in rows], "o-", label=label)


class Timer:
    def __init__(self) -> None:
        self.start = time.perf_counter()

    def seconds(self) -> float:
        return round(time.perf_counter() - self.start, 1)


F = TypeVar("F", bound=Callable[..., Any])


def restores_threads(fn: F) -> F:
    """Put torch's CPU thread count back after ``fn`` (which may change it)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        before = torch.get_num_threads()
        try:
            return fn(*args, **kwargs)
        finally:
            torch.set_num_threads(before)

    return wrapper  # type: ignore[return-value]
