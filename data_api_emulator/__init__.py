"""Local emulator of the course data API the platform ingests house listings from.

It answers the same contract as the real server (``/data``, ``/restart_data_generation``,
``/health``, ``/metrics``; 400 with the original ``detail`` messages), hands out a
deterministic batch sequence per group and day, and serves either seeded synthetic
realtor.com-style listings (dirt and drift included) or a user-supplied CSV. As on the
real server, the batches of a day overlap: later ones re-serve earlier listings
(``repeat_share``, see ``data_api_emulator.repeats``).

Example::

    from data_api_emulator import EmulatorConfig, create_app, generate_batch

    frame = generate_batch(group=5, day="Tuesday", batch=1, rows=1000, seed=1)
    app = create_app(EmulatorConfig(min_interval_seconds=0))

Serve it with ONE gunicorn worker (the batch sequence lives in process memory)::

    gunicorn 'data_api_emulator.app:create_app()' -w 1 --threads 4
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from data_api_emulator.config import ConfigError, DirtConfig, DriftConfig, EmulatorConfig

if TYPE_CHECKING:
    from data_api_emulator.app import create_app
    from data_api_emulator.generator import COLUMNS, DAYS, generate_batch

__all__ = [
    "COLUMNS",
    "DAYS",
    "ConfigError",
    "DirtConfig",
    "DriftConfig",
    "EmulatorConfig",
    "create_app",
    "generate_batch",
]


_LAZY = {
    "create_app": "data_api_emulator.app",
    "COLUMNS": "data_api_emulator.generator",
    "DAYS": "data_api_emulator.generator",
    "generate_batch": "data_api_emulator.generator",
}


def __getattr__(name: str) -> Any:
    # numpy/pandas and Flask load on first use: the CLI checks settings without them,
    # and the generator can be used without the web app.
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
