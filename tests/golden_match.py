"""Matching a run's summary against a recorded golden one.

Counts and every other non-float value must match exactly; floats to 1e-12 relative, because a
newer numpy within the pinned range (or the same numpy on another CPU, with other SIMD kernels) may
sum the same numbers in another order (numpy 2.5.5 moved harm-exposure sums by one unit in the last
place), which is not a change of behaviour.
"""

from __future__ import annotations

import math


def differences(got, want, path: str = "") -> list[str]:
    """Where ``got`` and ``want`` differ: exact for everything but floats, which must agree to
    1e-12 relative (NaN equal to NaN)."""
    if isinstance(want, dict) and isinstance(got, dict):
        if set(got) != set(want):
            return [f"{path}: keys {sorted(set(got) ^ set(want))}"]
        return [d for k in sorted(want) for d in differences(got[k], want[k], f"{path}.{k}")]
    if isinstance(want, list) and isinstance(got, list):
        if len(got) != len(want):
            return [f"{path}: length {len(got)} vs {len(want)}"]
        return [d for i, (g, w) in enumerate(zip(got, want, strict=True)) for d in differences(g, w, f"{path}[{i}]")]
    if isinstance(want, float) and isinstance(got, float):
        same = (math.isnan(got) and math.isnan(want)) or math.isclose(got, want, rel_tol=1e-12, abs_tol=0.0)
        return [] if same else [f"{path}: {got!r} vs {want!r}"]
    return [] if (type(got) is type(want) and got == want) else [f"{path}: {got!r} vs {want!r}"]
