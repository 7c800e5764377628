"""The promotion rule: a challenger replaces the champion only when clearly better on rows
that neither model was trained on."""

from __future__ import annotations

from dataclasses import asdict, dataclass

__all__ = ["HoldoutCheck", "decide_promotion"]


@dataclass(frozen=True)
class HoldoutCheck:
    """What the comparison was scored on, and whether either model had seen any of it.

    ``overlap`` counts holdout listings found in the challenger's or the champion's training
    rows; ``None`` when it cannot be known (``unknown_because`` says why).
    """

    rows: int
    fingerprint: str
    overlap: int | None
    unknown_because: str = ""


def decide_promotion(
    challenger: dict[str, float],
    champion: dict[str, float] | None,
    *,
    margin: float,
    holdout: HoldoutCheck,
    champion_version: str | None = None,
) -> dict:
    """Compare holdout RMSEs measured on the same rows.

    The challenger wins when its RMSE is at least ``margin`` (a fraction, 0.01 = 1 %) below
    the champion's. The first model becomes champion. A holdout that either model was
    trained on is no fair judge: then nothing is promoted and the reason says so.
    """
    if not 0 <= margin < 1:
        raise ValueError(f"promotion margin {margin} must lie in [0, 1)")
    base = {
        "challenger_metrics": challenger,
        "champion_metrics": champion,
        "champion_version": champion_version,
        "margin": margin,
        "holdout": asdict(holdout),
    }
    if holdout.overlap:
        trained_on = f"challenger or champion v{champion_version}" if champion else "challenger"
        return {
            **base,
            "promote": False,
            "reason": (
                f"refused: {holdout.overlap} of the {holdout.rows} holdout listings were in the "
                f"training data of the {trained_on}, so their scores are not comparable"
            ),
        }
    if champion is None:
        return {**base, "promote": True, "reason": "first model: no champion to compare with"}
    needed = champion["rmse"] * (1 - margin)
    better = challenger["rmse"] <= needed
    unseen = (
        "neither was trained on"
        if holdout.overlap is not None
        else f"of unknown overlap ({holdout.unknown_because})"
    )
    comparison = (
        f"holdout RMSE {challenger['rmse']:,.0f} vs champion v{champion_version} "
        f"{champion['rmse']:,.0f} (needs <= {needed:,.0f}, margin {margin:.1%}) "
        f"on {holdout.rows} listings {unseen}"
    )
    verdict = "challenger better" if better else "challenger not better enough"
    return {**base, "promote": better, "reason": f"{verdict}: {comparison}"}
