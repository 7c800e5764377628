"""Charts drawn on the server as SVG strings: readable without JavaScript, with text
alternatives (``<title>``, ``<desc>``, ``aria-labelledby``). Every text is XML-escaped.

Colours follow shap: red pushes the price up, blue pushes it down.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import count
from xml.sax.saxutils import escape

__all__ = ["DOWN", "UP", "bar_chart", "dollars", "value_text", "waterfall"]

UP = "#ff0051"
DOWN = "#008bfb"
NEUTRAL = "#6b7280"
_ids = count(1)

WIDTH, LABEL, ROW = 680, 210, 30


def dollars(value: float, signed: bool = False) -> str:
    text = f"${abs(value):,.0f}"
    if signed:
        return ("+" if value >= 0 else "\u2212") + text
    return ("\u2212" if value < 0 else "") + text


def _frame(height: int, title: str, desc: str, body: list[str]) -> str:
    uid = next(_ids)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" role="img" aria-labelledby="t{uid} d{uid}" class="chart">'
        f'<title id="t{uid}">{escape(title)}</title><desc id="d{uid}">{escape(desc)}</desc>'
        + "".join(body)
        + "</svg>"
    )


def value_text(value: object) -> str:
    """An input value as a person writes it: 4 not 4.0, 2,400 not 2400.0."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def _scale(low: float, high: float):
    span = (high - low) or 1.0
    left, right = LABEL + 10, WIDTH - 100  # room on the right for the value labels
    return lambda value: left + (value - low) / span * (right - left)


def waterfall(base: float, prediction: float, contributions: Sequence[dict], top: int = 8) -> str:
    """From the base value (the average prediction) to this prediction, one bar per feature.

    ``contributions`` are ``{"feature", "value", "contribution"}`` sorted by size; beyond
    ``top`` they are summed into one "N other features" bar.
    """
    items = [
        (
            f"{c['feature']} = {value_text(c['value'])}"
            if c.get("value") is not None
            else c["feature"],
            float(c["contribution"]),
        )
        for c in contributions[:top]
    ]
    rest = contributions[top:]
    if rest:
        items.append((f"{len(rest)} other features", sum(float(c["contribution"]) for c in rest)))
    # Accumulate from the bottom row (applied first) up to the top row (largest effect).
    spans, start = [], base
    for label, value in reversed(items):
        spans.append((label, value, start, start + value))
        start += value
    spans.reverse()
    edges = [base, prediction] + [s for *_, s, _ in spans] + [e for *_, e in spans]
    x = _scale(min(edges), max(edges))
    height = 60 + ROW * len(spans) + 40
    body = [
        f'<text x="{x(prediction):.1f}" y="18" text-anchor="middle" class="axis">'
        f"prediction {escape(dollars(prediction))}</text>",
        f'<line x1="{x(prediction):.1f}" y1="24" x2="{x(prediction):.1f}" y2="{height - 40}" '
        f'stroke="{NEUTRAL}" stroke-dasharray="3 3"/>',
    ]
    for row, (label, value, begin, end) in enumerate(spans):
        y = 34 + row * ROW
        left, right = sorted((x(begin), x(end)))
        colour = UP if value >= 0 else DOWN
        body.append(
            f'<text x="{LABEL}" y="{y + 18}" text-anchor="end" class="label">{escape(label)}</text>'
        )
        body.append(
            f'<rect x="{left:.1f}" y="{y + 4}" width="{max(right - left, 1.5):.1f}" '
            f'height="{ROW - 8}" fill="{colour}" class="{"up" if value >= 0 else "down"}">'
            f"<title>{escape(label)}: {escape(dollars(value, signed=True))}</title></rect>"
        )
        body.append(
            f'<text x="{right + 4:.1f}" y="{y + 18}" class="value" '
            f'fill="{colour}">{escape(dollars(value, signed=True))}</text>'
        )
    body.append(
        f'<line x1="{x(base):.1f}" y1="30" x2="{x(base):.1f}" y2="{height - 34}" '
        f'stroke="{NEUTRAL}"/>'
    )
    body.append(
        f'<text x="{x(base):.1f}" y="{height - 18}" text-anchor="middle" class="axis">'
        f"average prediction {escape(dollars(base))}</text>"
    )
    desc = "; ".join(f"{label}: {dollars(value, signed=True)}" for label, value, *_ in spans)
    return _frame(
        height,
        f"How the prediction of {dollars(prediction)} is built from the average of {dollars(base)}",
        desc,
        body,
    )


def bar_chart(
    rows: Sequence[tuple[str, float]],
    title: str,
    fmt=dollars,
    threshold: float | None = None,
    highlight: set[str] | None = None,
) -> str:
    """Horizontal bars, one per (label, value); an optional dashed threshold line."""
    values = [v for _, v in rows] + ([threshold] if threshold is not None else [])
    x = _scale(min(0.0, *values), max(values) if values else 1.0)
    height = 20 + ROW * len(rows) + 10
    body = []
    for row, (label, value) in enumerate(rows):
        y = 10 + row * ROW
        colour = UP if highlight and label in highlight else DOWN if highlight else NEUTRAL
        body.append(
            f'<text x="{LABEL}" y="{y + 18}" text-anchor="end" class="label">{escape(label)}</text>'
        )
        body.append(
            f'<rect x="{x(0):.1f}" y="{y + 4}" width="{max(x(value) - x(0), 1.5):.1f}" '
            f'height="{ROW - 8}" fill="{colour}"><title>{escape(label)}: '
            f"{escape(fmt(value))}</title></rect>"
        )
        body.append(
            f'<text x="{x(value) + 4:.1f}" y="{y + 18}" class="value">{escape(fmt(value))}</text>'
        )
    if threshold is not None:
        body.append(
            f'<line x1="{x(threshold):.1f}" y1="6" x2="{x(threshold):.1f}" '
            f'y2="{height - 6}" stroke="{NEUTRAL}" stroke-dasharray="4 3" class="threshold"/>'
        )
    desc = "; ".join(f"{label}: {fmt(value)}" for label, value in rows)
    return _frame(height, title, desc, body)
