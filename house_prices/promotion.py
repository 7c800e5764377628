"""The promotion rule: a challenger replaces the champion only when clearly better."""

from __future__ import annotations

__all__ = ["decide"]


def decide(
    challenger: dict[str, float],
    champion: dict[str, float] | None,
    *,
    margin: float,
    champion_version: str | None = None,
) -> dict:
    """Compare holdout RMSEs measured on the same rows.

    The challenger wins when its RMSE is at least ``margin`` (a fraction, 0.01 = 1 %) below
    the champion's. The first model becomes champion.
    """
    if not 0 <= margin < 1:
        raise ValueError(f"promotion margin {margin} must lie in [0, 1)")
    base = {
        "challenger_metrics": challenger,
        "champion_metrics": champion,
        "champion_version": champion_version,
        "margin": margin,
    }
    if champion is None:
        return {**base, "promote": True, "reason": "first model: no champion to compare with"}
    needed = champion["rmse"] * (1 - margin)
    better = challenger["rmse"] <= needed
    comparison = (
        f"holdout RMSE {challenger['rmse']:,.0f} vs champion v{champion_version} "
        f"{champion['rmse']:,.0f} (needs <= {needed:,.0f}, margin {margin:.1%})"
    )
    verdict = "challenger better" if better else "challenger not better enough"
    return {**base, "promote": better, "reason": f"{verdict}: {comparison}"}
