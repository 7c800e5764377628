"""Paths for the manifest tests; the shared renders are fixtures of tests/conftest.py."""

from __future__ import annotations

import sys
from pathlib import Path

from testsupport.render import copy_inventory, load_rendered  # noqa: F401 (used by the modules)

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
