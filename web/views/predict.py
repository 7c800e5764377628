"""Predict: the listing form, the price with its spread, and its SHAP explanation."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request

from web import charts
from web.clients import ValidationFailed
from web.forms import NUMERIC, field_errors, input_text, parse_listing
from web.views import model_server

bp = Blueprint("predict", __name__)

#: feature -> (how a sentence names it, whether that name is plural)
SUBJECTS = {
    "bed": ("the {value} bedrooms", True),
    "bath": ("the {value} bathrooms", True),
    "house_size": ("a house size of {value} sq ft", False),
    "acre_lot": ("a lot of {value} acres", False),
    "state": ("the location in {value}", False),
    "status": ("the status “{value}”", False),
}


def defaults(features: dict) -> dict[str, Any]:
    """Start the form at the median listing the model was trained on."""
    values: dict[str, Any] = {
        name: input_text(features.get("numeric", {}).get(name, {}).get("median"))
        for name in NUMERIC
    }
    categorical = features.get("categorical", {})
    states = categorical.get("state", [])
    values["state"] = "Texas" if "Texas" in states else (states[0] if states else "")
    values["status"] = "for_sale"
    return values


def sentences(contributions: list[dict], limit: int = 4) -> list[str]:
    """Plain language: "the 3 bathrooms add about $18,000"."""
    out = []
    for item in contributions[:limit]:
        value, amount = item["value"], item["contribution"]
        if value is None:
            subject, plural = f"not knowing the {item['feature'].replace('_', ' ')}", False
        else:
            template, plural = SUBJECTS.get(item["feature"], (item["feature"] + " {value}", False))
            subject = template.format(value=charts.value_text(value))
        rounded = round(abs(amount), -3) if abs(amount) >= 1000 else round(abs(amount))
        verb = (
            ("add" if plural else "adds")
            if amount >= 0
            else ("take off" if plural else "takes off")
        )
        out.append(f"{subject[0].upper()}{subject[1:]} {verb} about ${rounded:,.0f}.")
    return out


def insights(listing: dict, price: float) -> list[tuple[str, str]]:
    rows = []
    for name, label in (
        ("house_size", "per square foot"),
        ("bed", "per bedroom"),
        ("bath", "per bathroom"),
        ("acre_lot", "per acre"),
    ):
        if listing.get(name):
            rows.append((label, charts.dollars(price / listing[name])))
    return rows


def _form(values, errors: dict[str, str], status: int = 200):
    """The form; on a POST with errors only now is the model's description fetched."""
    model = model_server().model()
    features = model.get("features", {})
    return render_template(
        "predict/form.html",
        model=model,
        features=features,
        values=values if values is not None else defaults(features),
        errors=errors,
    ), status


@bp.route("/", methods=["GET", "POST"])
def index():
    """The form (GET) and the price with its spread and explanation (POST: one /explain call)."""
    if request.method == "GET":
        return _form(None, {})
    listing, errors = parse_listing(request.form)
    if not errors:
        try:
            explanation = model_server().explain(listing)
        except ValidationFailed as exc:
            errors = field_errors(exc.fields) or {"form": str(exc)}
    if errors:
        return _form(request.form, errors, 400)
    price = explanation["price"]
    return render_template(
        "predict/result.html",
        model=explanation["model"],
        listing=listing,
        explanation=explanation,
        price=price,
        insights=insights(listing, price),
        sentences=sentences(explanation["contributions"]),
        chart=charts.waterfall(explanation["base_value"], price, explanation["contributions"]),
        dollars=charts.dollars,
        value_text=charts.value_text,
    )
