"""One way to read typed settings from environment variables.

A settings dataclass declares one table, field name -> (environment variable, meaning).
:func:`read` parses every variable that is set and not empty by its field's annotated type and
names the variable, its value and its meaning when one does not parse; unset or empty variables
keep the dataclass default. The dataclass validates the combination in ``__post_init__``.
Used by the pipeline (``house_prices.settings``, ``house_prices.retention``), the model server
and the web UI.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

__all__ = ["SettingsError", "Table", "read"]

#: Field name -> (environment variable, meaning).
Table = Mapping[str, tuple[str, str]]


class SettingsError(ValueError):
    """An environment variable is missing or malformed."""


def _bool(raw: str) -> bool:
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError("use 1 or 0 (on or off)")


#: Annotated field type (a string under ``from __future__ import annotations``) -> parser.
_PARSERS: dict[str, Callable[[str], Any]] = {
    "str": str,
    "int": int,
    "float": float,
    "bool": _bool,
    "Path": Path,
}


def read(
    cls: type,
    table: Table,
    environ: Mapping[str, str],
    parsers: Mapping[str, Callable[[str], Any]] | None = None,
    hidden: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """The values of ``cls``'s fields in ``table`` whose variables are set, parsed by type.

    ``parsers`` gives fields of other types their parser (field name -> parser); the values of
    the ``hidden`` variables (keys, passwords) never appear in an error.
    """
    types = {field.name: field.type for field in dataclasses.fields(cls)}
    parsers = parsers or {}
    values: dict[str, Any] = {}
    for name, (variable, meaning) in table.items():
        raw = environ.get(variable, "")
        if raw == "":
            continue
        kind = types[name] if isinstance(types[name], str) else types[name].__name__
        parse = parsers.get(name) or _PARSERS[kind]
        try:
            values[name] = parse(raw)
        except ValueError as exc:
            shown = "<hidden>" if variable in hidden else repr(raw)
            raise SettingsError(f"{variable}={shown} is not valid ({meaning}): {exc}") from None
    return values
