"""Compare locations: the same house priced in several states."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from web import charts
from web.clients import ValidationFailed
from web.forms import field_errors, parse_listing
from web.views import model_server
from web.views.predict import defaults

bp = Blueprint("compare", __name__, url_prefix="/compare")

PREFERRED = ("California", "Texas", "New York", "Florida", "Ohio", "Puerto Rico")


@bp.route("", methods=["GET", "POST"])
def index():
    """Pick a house and states (GET); chart and table of its price in each (POST)."""
    server = model_server()
    model = server.model()
    features = model.get("features", {})
    states = features.get("categorical", {}).get("state", [])

    def page(values, chosen: list[str], errors: dict, rows: list | None = None, **chart):
        return render_template(
            "compare/index.html",
            model=model,
            features=features,
            values=values,
            chosen=chosen,
            errors=errors,
            rows=rows,
            **chart,
        )

    if request.method == "GET":
        preferred = [s for s in PREFERRED if s in states] or states[:5]
        return page(defaults(features), preferred, {})
    chosen = [s for s in request.form.getlist("states") if s in states]
    form = {**request.form.to_dict(), "state": chosen[0] if chosen else ""}
    listing, errors = parse_listing(form)
    if not chosen:
        errors = {**errors, "states": "choose at least one state"}
        errors.pop("state", None)
    if not errors:
        try:
            answer = server.predict([{**listing, "state": state} for state in chosen])
        except ValidationFailed as exc:
            errors = field_errors(exc.fields) or {"form": str(exc)}
    if errors:
        return page(request.form, chosen, errors), 400
    rows = sorted(
        zip(chosen, answer["predictions"], strict=True),
        key=lambda row: row[1]["price"],
        reverse=True,
    )
    chart = charts.bar_chart(
        [(state, p["price"]) for state, p in rows],
        title="Predicted price of the same house by state",
    )
    return page(request.form, chosen, {}, rows, chart=chart, dollars=charts.dollars)
