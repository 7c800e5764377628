"""The listing form: parse what a person typed, against the ranges the model server reports."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["FIELDS", "NUMERIC", "parse_listing"]

#: name -> (label, unit) of the numeric inputs
NUMERIC = {
    "bed": ("Bedrooms", ""),
    "bath": ("Bathrooms", ""),
    "house_size": ("House size", "sq ft"),
    "acre_lot": ("Lot", "acres"),
}
FIELDS = (*NUMERIC, "state", "status", "city", "zip_code")


def parse_listing(form: Mapping[str, str], features: dict[str, Any]) -> tuple[dict, dict]:
    """Return (listing, errors): errors maps a field to a message shown beside it."""
    listing: dict[str, Any] = {}
    errors: dict[str, str] = {}
    ranges = features.get("numeric", {})
    for name, (label, _) in NUMERIC.items():
        raw = (form.get(name) or "").strip()
        if not raw:
            errors[name] = f"{label} is required"
            continue
        try:
            value = float(raw)
        except ValueError:
            errors[name] = f"{label} must be a number, not “{raw}”"
            continue
        if not math.isfinite(value):  # "nan" and "inf" parse, and slip past every bound
            errors[name] = f"{label} must be a finite number, not “{raw}”"
            continue
        low, high = ranges.get(name, {}).get("min", 0.0), ranges.get(name, {}).get("max")
        if (
            value < low
            or (high is not None and value > high)
            or (name == "house_size" and value <= 0)
        ):
            bound = f"between {low:g} and {high:g}" if high is not None else f"at least {low:g}"
            errors[name] = f"{label} must be {bound}"
            continue
        listing[name] = value
    for name in ("state", "status"):
        choices = features.get("categorical", {}).get(name, [])
        value = (form.get(name) or "").strip()
        if value not in choices:
            errors[name] = f"choose a {name} from the list"
        else:
            listing[name] = value
    city = (form.get("city") or "").strip()
    if city:
        listing["city"] = city[:100]
    zip_code = (form.get("zip_code") or "").strip()
    if zip_code:
        if re.fullmatch(r"\d{5}", zip_code):
            listing["zip_code"] = zip_code
        else:
            errors["zip_code"] = "a zip code has 5 digits, e.g. 00601"
    return listing, errors
