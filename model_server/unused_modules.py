"""Modules the workers never use but their dependencies import when installed.

A finder first on ``sys.meta_path`` makes ``import name`` raise ModuleNotFoundError, which
each of these importers catches: they then run without the optional module. (A ``None`` in
``sys.modules`` would do the same for ``import``, but scikit-learn reads
``sys.modules["pyarrow"]`` and would take that ``None`` for the module.)

- matplotlib: shap imports it for its plots (about 35 MB); the server draws nothing.
- pyarrow: pandas imports it to back string columns (about 35 MB); the server builds its
  frames from JSON with float and object columns and reads no Parquet.
- pytest: skops imports scikit-learn's test helpers, which import pytest (about 8 MB).
- rich: scikit-learn's optional progress bars (about 2 MB).
"""

from __future__ import annotations

import sys
from importlib.abc import MetaPathFinder

__all__ = ["UNUSED", "keep_out"]

UNUSED = ("pyarrow", "pytest", "rich")


class _KeepOut(MetaPathFinder):
    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = frozenset(names)

    def find_spec(self, fullname, path=None, target=None):
        if fullname.partition(".")[0] in self.names:
            raise ModuleNotFoundError(
                f"{fullname} is kept out of the model server's workers "
                "(model_server.unused_modules)",
                name=fullname,
            )
        return None


def keep_out(allow_matplotlib: bool = False) -> None:
    """Refuse to import the unused modules in this process; call it before importing the app."""
    names = (*UNUSED, *(() if allow_matplotlib else ("matplotlib",)))
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _KeepOut)]
    sys.meta_path.insert(0, _KeepOut(names))
