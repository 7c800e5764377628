"""What a listing sent for pricing may hold: one typed description of the model's inputs.

Built from the feature summary logged with the training run (ranges, medians, states), it is
the single source of the model server's validation, its OpenAPI ``Listing`` schema and the
``features`` of ``GET /model`` that the web form is drawn from. Kept free of heavy imports.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from house_prices.features import NUMERIC_FEATURES, STATUSES

__all__ = ["LISTING_FIELDS", "OPTIONAL_FIELDS", "ListingContract", "NumberField"]

#: Accepted but not used by the model: recorded with the prediction in the log only.
OPTIONAL_FIELDS = ("city", "zip_code")
LISTING_FIELDS = (*NUMERIC_FEATURES, "state", "status", *OPTIONAL_FIELDS)
#: Numbers that must be above zero, not merely at least zero (a house has a size).
POSITIVE = ("house_size",)
ZIP_CODE = re.compile(r"[0-9]{5}")
NOT_USED = "recorded in the prediction log with the price; the model does not use it"


def _describe(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _is_number(value: Any) -> bool:
    """A JSON number: an int of any size (it compares exactly with the float bounds, while
    ``math.isfinite(10**400)`` overflows) or a finite float."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return isinstance(value, int) or math.isfinite(value)


@dataclass(frozen=True)
class NumberField:
    """One numeric input: its accepted range and the training median (the imputed value)."""

    name: str
    minimum: float = 0.0
    maximum: float | None = None
    median: float | None = None

    @property
    def positive(self) -> bool:
        return self.name in POSITIVE

    def problem(self, value: Any) -> str | None:
        """Why ``value`` is refused, or None; null is accepted (the model imputes it)."""
        if value is None:
            return None
        if not _is_number(value):
            return f"must be a number or null, got {_describe(value)}"
        if self.positive and value <= 0:
            return f"must be greater than 0, got {value}"
        if value < self.minimum:
            return f"must be at least {self.minimum:g}, got {value}"
        if self.maximum is not None and value > self.maximum:
            return (
                f"must be at most {self.maximum:g} (the model's accepted range, see GET /model), "
                f"got {value}"
            )
        return None

    def json_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": ["number", "null"]}
        if self.positive:
            schema["exclusiveMinimum"] = 0
        else:
            schema["minimum"] = self.minimum
        if self.maximum is not None:
            schema["maximum"] = self.maximum
        return schema


@dataclass(frozen=True)
class ListingContract:
    """The model's inputs: numbers with ranges, the states it knows, the statuses."""

    numbers: tuple[NumberField, ...]
    states: tuple[str, ...] = ()
    statuses: tuple[str, ...] = STATUSES

    @classmethod
    def from_summary(cls, summary: dict[str, Any] | None) -> ListingContract:
        """From a feature summary (``feature_summary.json``, or ``GET /model``'s features).

        Without a summary (no model loaded) the numbers have no upper bound and any state
        string is described as accepted.
        """
        numeric = (summary or {}).get("numeric", {})
        numbers = tuple(
            NumberField(
                name,
                minimum=float(numeric.get(name, {}).get("min") or 0.0),
                maximum=numeric.get(name, {}).get("max"),
                median=numeric.get(name, {}).get("median"),
            )
            for name in NUMERIC_FEATURES
        )
        states = (summary or {}).get("categorical", {}).get("state", [])
        return cls(numbers, tuple(str(state) for state in states))

    def number(self, name: str) -> NumberField:
        return next(field for field in self.numbers if field.name == name)

    def describe(self) -> dict[str, Any]:
        """The ``features`` of ``GET /model``: ranges, medians, states, statuses, optionals."""
        return {
            "numeric": {
                field.name: {
                    "min": field.minimum,
                    "max": field.maximum,
                    "median": field.median,
                }
                for field in self.numbers
            },
            "categorical": {"state": list(self.states), "status": list(self.statuses)},
            "optional": {name: NOT_USED for name in OPTIONAL_FIELDS},
        }

    def problems(self, listing: dict[str, Any], nullable_categories: bool = False):
        """Field name -> why its value is refused, for every bad field of ``listing``.

        ``nullable_categories`` lets state and status be null (the encoder's missing value).
        """
        errors: dict[str, str] = {}
        for key in listing:
            if key not in LISTING_FIELDS:
                errors[key] = f"unknown field; accepted fields are {', '.join(LISTING_FIELDS)}"
        for field in self.numbers:
            if field.name not in listing:
                errors[field.name] = "is required (a number, or null to let the model impute it)"
            elif (problem := field.problem(listing[field.name])) is not None:
                errors[field.name] = problem
        state = listing.get("state")
        if "state" not in listing:
            errors["state"] = "is required"
        elif state is None and nullable_categories:
            pass
        elif not isinstance(state, str):
            errors["state"] = f"must be a string, got {_describe(state)}"
        elif self.states and state not in self.states:
            shown = ", ".join(self.states[:10]) + (", ..." if len(self.states) > 10 else "")
            errors["state"] = f"unknown state {_describe(state)}; the model knows {shown}"
        status = listing.get("status")
        if "status" not in listing:
            errors["status"] = "is required"
        elif status is None and nullable_categories:
            pass
        elif not isinstance(status, str) or status not in self.statuses:
            errors["status"] = f"must be one of {', '.join(self.statuses)}, got {_describe(status)}"
        city = listing.get("city")
        if city is not None and not isinstance(city, str):
            errors["city"] = f"must be a string, got {_describe(city)}"
        zip_code = listing.get("zip_code")
        zip_ok = isinstance(zip_code, str) and ZIP_CODE.fullmatch(zip_code)
        if zip_code is not None and not zip_ok:
            errors["zip_code"] = f"must be a string of 5 digits, got {_describe(zip_code)}"
        return errors

    def json_schema(self) -> dict[str, Any]:
        """The JSON Schema of a listing (our dialect), as ``problems`` enforces it."""
        properties: dict[str, Any] = {field.name: field.json_schema() for field in self.numbers}
        properties["state"] = {"type": "string", **({"enum": list(self.states)} if self.states
                                                    else {})}  # fmt: skip
        properties["status"] = {"type": "string", "enum": list(self.statuses)}
        properties["city"] = {"type": ["string", "null"], "description": NOT_USED}
        properties["zip_code"] = {
            "type": ["string", "null"],
            "pattern": "^[0-9]{5}$",
            "description": NOT_USED,
        }
        return {
            "type": "object",
            "required": [*NUMERIC_FEATURES, "state", "status"],
            "additionalProperties": False,
            "properties": properties,
        }
