"""Summary statistics of per-example numbers kept as compact arrays."""

from __future__ import annotations

from typing import Any


def distribution(values: Any) -> dict[str, float | int]:
    """count, min, mean, p50, p90, p95, p99 and max of an array of numbers (zeros when empty)."""
    import numpy as np

    data = np.asarray(values, dtype=np.float64) if not hasattr(values, "typecode") else np.frombuffer(
        values, dtype=np.dtype(values.typecode)).astype(np.float64)
    if data.size == 0:
        return {"count": 0, "min": 0, "mean": 0.0, "p50": 0, "p90": 0, "p95": 0, "p99": 0, "max": 0}
    p50, p90, p95, p99 = np.percentile(data, [50, 90, 95, 99], method="nearest")
    return {"count": int(data.size), "min": int(data.min()), "mean": round(float(data.mean()), 1),
            "p50": int(p50), "p90": int(p90), "p95": int(p95), "p99": int(p99), "max": int(data.max())}
