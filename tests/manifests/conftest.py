"""Paths for the manifest tests; the shared renders are fixtures of tests/conftest.py
(testsupport/render.py runs them)."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
