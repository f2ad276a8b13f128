"""Value normalisation shared by the writer, the in-memory mirror and the loader."""

from __future__ import annotations

import json
import math
import numbers
from typing import Any

import numpy as np

from .errors import InvalidNameError, InvalidValueError

NAN = float("nan")


def check_name(name: Any, what: str) -> str:
    """Return ``name`` if it can name a logged variable, parameter or dataset.

    Raises InvalidNameError for non-str, empty, '.'/'..' or names holding '/'
    (HDF5 uses '/' as its path separator).
    """
    if not isinstance(name, str):
        raise InvalidNameError(f"{what} names must be str, got {type(name).__name__} {name!r}")
    if not name or name in (".", ".."):
        raise InvalidNameError(f"{what} name {name!r} is empty or reserved; pick a plain name like 'temperature'")
    if "/" in name:
        raise InvalidNameError(
            f"{what} name {name!r} contains '/', which HDF5 uses as a path separator; use '_' or '.' instead"
        )
    return name


def to_float(name: str, value: Any) -> float:
    """Convert one add_entry value to float64, or raise InvalidValueError."""
    t = type(value)
    if t is float:
        return value
    if t is int or t is bool:
        return float(value)
    if isinstance(value, np.generic) and value.dtype.kind in "biuf":
        return float(value)
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "biuf":
        return float(value)
    if isinstance(value, numbers.Real) and not isinstance(value, (str, bytes)):
        return float(value)
    raise InvalidValueError(
        f"logged variable {name!r} got {type(value).__name__} {_short(value)}: add_entry takes real numbers "
        "only; use save_parameter for text and add_dataset for arrays"
    )


def _short(value: Any) -> str:
    r = repr(value)
    return r if len(r) <= 40 else r[:37] + "..."


def fmt_number(x: float) -> str:
    """Format a number for a text trial column: integral values without '.0'."""
    if isinstance(x, (int, np.integer)) and not isinstance(x, bool):
        return str(int(x))
    x = float(x)
    if math.isnan(x):
        return "nan"
    if x.is_integer() and abs(x) < 2**53:
        return str(int(x))
    return repr(x)


def trial_cell(value: Any) -> float | str | None:
    """Normalise one PsychoPy trial value: None (missing), a float, or a str.

    bool -> 1.0/0.0; ints, floats and numpy scalars -> float; str kept;
    lists, tuples, dicts and arrays -> JSON text; anything else -> str(value).
    """
    t = type(value)
    if value is None:
        return None
    if t is str:
        return value
    if t is float or t is int or t is bool:
        return float(value)
    if isinstance(value, np.generic):
        if value.dtype.kind in "biuf":
            return float(value)
        value = value.item()
        if isinstance(value, str):
            return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, numbers.Real):
        return float(value)
    return to_json(value)


def to_json(value: Any) -> str:
    if isinstance(value, np.ndarray):
        value = value.tolist()
    try:
        return json.dumps(value, default=_json_default)
    except (TypeError, ValueError):
        return str(value)


def _json_default(o: Any) -> Any:
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, np.generic):
        return o.item()
    return str(o)


def attr_value(value: Any) -> tuple[Any, bool]:
    """Value storable as an HDF5 attribute, and whether it was JSON-encoded.

    str, bool, int, float (and numpy scalars) are kept; a list of str is kept
    as a string array; None and everything else is JSON-encoded text.
    """
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (str, bool, int, float)):
        return value, False
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value):
        return list(value), False
    return to_json(value), True


def from_attr(value: Any) -> Any:
    """Inverse of attr_value for values read back from h5py attrs."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray):
        return [from_attr(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return value.item()
    return value


def escape_column(name: str) -> str:
    """HDF5 link name for a PsychoPy column name ('/' -> '%2F', '%' -> '%25')."""
    esc = name.replace("%", "%25").replace("/", "%2F")
    if esc in ("", ".", ".."):
        esc = esc.replace(".", "%2E") or "%00"
    return esc
