"""The listing form: text typed by a person into numbers, and the server's verdict back.

What a listing may hold (ranges, states, statuses) is the model server's to say: this module
only turns text into numbers and puts the server's field errors beside the form's fields.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = ["LABELS", "NUMERIC", "field_errors", "input_text", "parse_listing"]

#: name -> (label, unit) of the numeric inputs
NUMERIC = {
    "bed": ("Bedrooms", ""),
    "bath": ("Bathrooms", ""),
    "house_size": ("House size", "sq ft"),
    "acre_lot": ("Lot", "acres"),
}
LABELS = {**{name: label for name, (label, _) in NUMERIC.items()}, "state": "State",
          "status": "Status"}  # fmt: skip


def _number(raw: str) -> int | float:
    """``"3"`` stays a count (3, not 3.0); anything else a finite float (else ValueError:
    "nan" and "inf" parse as floats and would slip past every bound)."""
    try:
        return int(raw)
    except ValueError:
        value = float(raw)
    if not math.isfinite(value):
        raise ValueError(raw)
    return value


def input_text(value: Any) -> str:
    """A number as an input shows it: 3 not 3.0, no thousands separators; '' for none."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def parse_listing(form: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """Return (listing, errors): errors maps a field to a message shown beside it."""
    listing: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, (label, _) in NUMERIC.items():
        raw = (form.get(name) or "").strip()
        if not raw:
            errors[name] = f"{label} is required"
            continue
        try:
            listing[name] = _number(raw)
        except ValueError:
            errors[name] = f"{label} must be a number, not “{raw}”"
    for name in ("state", "status"):
        value = (form.get(name) or "").strip()
        if value:
            listing[name] = value
        else:
            errors[name] = f"choose a {name} from the list"
    return listing, errors


def field_errors(fields: Mapping[str, str]) -> dict[str, str]:
    """The model server's field errors (``listing.bed``, ``listings[2].state``) by form field.

    A problem with no field of the form (the body, an unknown key) is shown above the form.
    """
    errors: dict[str, str] = {}
    for path, text in fields.items():
        name = path.rsplit(".", 1)[-1]
        if name in LABELS:
            errors.setdefault(name, f"{LABELS[name]}: {text}")
        else:
            errors["form"] = f"{path}: {text}"
    return errors
