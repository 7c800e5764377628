"""House-price versions registered in a real MLflow server through the pipeline's steps.

Shared by the model-server and web tests and the benchmarks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from house_prices import keys, registry
from house_prices import pipeline as steps
from house_prices.settings import Settings
from house_prices.storage import open_store, write_parquet
from house_prices.training import TrainingConfig

STATES = ("Texas", "Ohio", "Puerto Rico")


@dataclass
class MlflowServer:
    """An MLflow server with ``versions`` of ``settings.model_name`` registered."""

    url: str
    settings: Settings
    versions: list[str]

    def set_champion(self, version: str) -> None:
        client = registry.connect(self.url)
        client.set_registered_model_alias(
            self.settings.model_name, registry.CHAMPION_ALIAS, version
        )


def raw_batch(rows: int, seed: int, shift: float = 1.0) -> pd.DataFrame:
    """A raw batch shaped like the data API's: every column a string."""
    rng = np.random.default_rng(seed)
    size = rng.integers(500, 4000, rows).astype(float)
    bed = rng.integers(1, 6, rows)
    price = size * 180 * shift * (1 + 0.1 * bed) * rng.lognormal(0, 0.15, rows)
    return pd.DataFrame(
        {
            "brokered_by": "1.0",
            "status": rng.choice(["for_sale", "sold"], rows),
            "price": price.astype(str),
            "bed": bed.astype(str),
            "bath": rng.integers(1, 4, rows).astype(str),
            "acre_lot": rng.random(rows).round(3).astype(str),
            # One address per row, different for every seed: each row is its own listing.
            "street": (seed * 1_000_000 + np.arange(rows)).astype(str),
            "city": "c",
            "state": rng.choice(STATES, rows),
            "zip_code": "601",
            "house_size": size.astype(str),
            "prev_sold_date": "",
        }
    ).astype("string")


def register_versions(
    settings: Settings,
    count: int = 2,
    rows: int = 3000,
    params: dict | None = None,
    group: int = 5,
    day: str = "Tuesday",
    make_batch: Callable[..., pd.DataFrame] = raw_batch,
) -> list[str]:
    """Train ``count`` versions on growing sets of synthetic batches; the first becomes champion.

    Later versions are registered but the alias is left alone (tests move it themselves).
    ``make_batch(rows, seed=, shift=)`` makes each raw batch (default :func:`raw_batch`).
    """
    config = steps.PipelineConfig(
        training=TrainingConfig(params=params or {"n_estimators": 20, "max_depth": 8})
    )
    store = open_store(settings)
    versions, raw_keys = [], []
    for index in range(count):
        key = keys.raw_key(group, day, index + 1)
        write_parquet(store, key, make_batch(rows, seed=index + 1, shift=1.0 + 0.3 * index))
        raw_keys.append(key)
        cleaned = steps.clean_batches(settings, raw_keys, config)
        drift = steps.check_drift(settings, cleaned["latest_clean_key"], config)
        trained = steps.train(
            settings, group, day, cleaned["clean_keys"], drift["report_key"], config
        )
        if index == 0:
            steps.promote(settings, trained["version"], config)
        versions.append(trained["version"])
    return versions
