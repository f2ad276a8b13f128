"""Comparing PsychoPy's CSV with the session file's trial table (shared by the CLI and recorder tests)."""

from __future__ import annotations

import csv
import math


def csv_rows(path) -> list[dict[str, str]]:
    """The rows of a PsychoPy CSV (``utf-8-sig``: PsychoPy writes a BOM)."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        return list(csv.DictReader(f))


def same_value(csv_value: str, h5_value) -> bool:
    """Whether a CSV cell and the data log's value for it are the same value: NaN for an
    empty cell, 1.0/0.0 for True/False, numbers within float precision, text as is."""
    if hasattr(h5_value, "item"):
        h5_value = h5_value.item()
    if isinstance(h5_value, bytes):
        h5_value = h5_value.decode("utf-8")
    if isinstance(h5_value, float):
        if math.isnan(h5_value):
            return csv_value in ("", "nan", "None")
        if csv_value in ("True", "False"):  # bools are stored as 1.0 / 0.0
            return h5_value == (1.0 if csv_value == "True" else 0.0)
        try:
            return math.isclose(float(csv_value), h5_value, rel_tol=1e-9, abs_tol=1e-12)
        except ValueError:
            return False
    return csv_value == str(h5_value)
