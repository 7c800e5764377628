"""Validation of request bodies: every problem reported per field, never an exception.

What a listing may hold is the model's :class:`~house_prices.listing_contract.ListingContract`;
this module checks the body around the listings and names each problem by its path.
"""

from __future__ import annotations

import json
from typing import Any

from house_prices.listing_contract import LISTING_FIELDS, ListingContract

__all__ = ["LISTING_FIELDS", "ValidationFailed", "parse_json", "validate_listings"]


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


def validate_listings(
    body: Any,
    contract: ListingContract,
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
        if not isinstance(listing, dict):
            errors[path] = f"must be an object with {', '.join(LISTING_FIELDS[:6])}"
            continue
        problems = contract.problems(listing, nullable_categories)
        errors.update((f"{path}.{name}", text) for name, text in problems.items())
        if len(errors) >= 50:
            errors["..."] = "more errors not shown"
            break
    if errors:
        count = len(errors)
        raise ValidationFailed(f"{count} invalid field{'s' if count > 1 else ''}", errors)
    return listings
