"""Validation of request bodies: every problem reported per field, never an exception."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from house_prices.features import NUMERIC_FEATURES, STATUSES

__all__ = ["LISTING_FIELDS", "ValidationFailed", "parse_json", "validate_listings"]

OPTIONAL_FIELDS = ("city", "zip_code")
LISTING_FIELDS = (*NUMERIC_FEATURES, "state", "status", *OPTIONAL_FIELDS)
ZIP_CODE = re.compile(r"\d{5}")


class ValidationFailed(ValueError):
    """The body is not acceptable; ``fields`` maps a field path to its problem."""

    def __init__(self, message: str, fields: dict[str, str] | None = None, status: int = 400):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        self.status = status


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json(raw: bytes) -> Any:
    """Strict JSON (no NaN/Infinity); raises ValidationFailed naming the position."""
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except UnicodeDecodeError as exc:
        raise ValidationFailed(f"the body is not UTF-8: {exc}") from exc
    except ValueError as exc:
        raise ValidationFailed(f"the body is not valid JSON: {exc}") from exc


def _describe(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _check_listing(
    listing: Any,
    where: str,
    features: dict[str, Any],
    errors: dict[str, str],
    nullable_categories: bool = False,
) -> None:
    if not isinstance(listing, dict):
        errors[where] = f"must be an object with {', '.join(LISTING_FIELDS[:6])}"
        return
    for key in listing:
        if key not in LISTING_FIELDS:
            errors[f"{where}.{key}"] = (
                f"unknown field; accepted fields are {', '.join(LISTING_FIELDS)}"
            )
    for name in NUMERIC_FEATURES:
        path = f"{where}.{name}"
        if name not in listing:
            errors[path] = "is required (a number, or null to let the model impute it)"
            continue
        value = listing[name]
        if value is None:
            continue
        if not _number(value):
            errors[path] = f"must be a number or null, got {_describe(value)}"
            continue
        bounds = features.get("numeric", {}).get(name, {})
        low = 0.0
        high = bounds.get("max")
        if name == "house_size" and value <= 0:
            errors[path] = f"must be greater than 0, got {value}"
        elif value < low:
            errors[path] = f"must be at least {low:g}, got {value}"
        elif high is not None and value > high:
            errors[path] = (
                f"must be at most {high:g} (the model's accepted range, see GET /model), "
                f"got {value}"
            )
    states = features.get("categorical", {}).get("state", [])
    state = listing.get("state")
    if "state" not in listing:
        errors[f"{where}.state"] = "is required"
    elif state is None and nullable_categories:
        pass  # the encoder's missing value
    elif not isinstance(state, str):
        errors[f"{where}.state"] = f"must be a string, got {_describe(state)}"
    elif states and state not in states:
        shown = ", ".join(states[:10]) + (", ..." if len(states) > 10 else "")
        errors[f"{where}.state"] = f"unknown state {_describe(state)}; the model knows {shown}"
    status = listing.get("status")
    if "status" not in listing:
        errors[f"{where}.status"] = "is required"
    elif status is None and nullable_categories:
        pass
    elif status not in STATUSES or not isinstance(status, str):
        errors[f"{where}.status"] = f"must be one of {', '.join(STATUSES)}, got {_describe(status)}"
    city = listing.get("city")
    if city is not None and not isinstance(city, str):
        errors[f"{where}.city"] = f"must be a string, got {_describe(city)}"
    zip_code = listing.get("zip_code")
    if zip_code is not None and not (isinstance(zip_code, str) and ZIP_CODE.fullmatch(zip_code)):
        errors[f"{where}.zip_code"] = f"must be a string of 5 digits, got {_describe(zip_code)}"


def validate_listings(
    body: Any,
    features: dict[str, Any],
    max_batch: int,
    allow_batch: bool = True,
    nullable_categories: bool = False,
) -> list[dict[str, Any]]:
    """The listings of ``{"listing": {...}}`` or ``{"listings": [...]}``, or ValidationFailed.

    ``nullable_categories`` lets state and status be null (the model encodes them as missing);
    the original system's dialect needs it, ours requires both.
    """
    if not isinstance(body, dict):
        raise ValidationFailed(
            'the body must be a JSON object: {"listing": {...}}'
            + (' or {"listings": [...]}' if allow_batch else ""),
            {"body": f"must be an object, got {type(body).__name__}"},
        )
    accepted = ("listing", "listings") if allow_batch else ("listing",)
    errors = {
        key: f"unknown field; send one of {', '.join(accepted)}"
        for key in body
        if key not in accepted
    }
    present = [key for key in accepted if key in body]
    if len(present) != 1:
        errors.setdefault("listing", f"send exactly one of {' or '.join(accepted)}")
        raise ValidationFailed("the request holds no listing to score", errors)
    if present[0] == "listing":
        listings = [body["listing"]]
        paths = ["listing"]
    else:
        listings = body["listings"]
        if not isinstance(listings, list):
            errors["listings"] = f"must be an array of listings, got {_describe(listings)[:20]}"
            raise ValidationFailed("invalid listings", errors)
        if not 1 <= len(listings) <= max_batch:
            errors["listings"] = f"must hold 1 to {max_batch} listings, got {len(listings)}"
            raise ValidationFailed("invalid batch size", errors, status=400)
        paths = [f"listings[{index}]" for index in range(len(listings))]
    for listing, path in zip(listings, paths, strict=True):
        _check_listing(listing, path, features, errors, nullable_categories)
        if len(errors) >= 50:
            errors["..."] = "more errors not shown"
            break
    if errors:
        count = len(errors)
        raise ValidationFailed(f"{count} invalid field{'s' if count > 1 else ''}", errors)
    return listings
