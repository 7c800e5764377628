"""What every DAG of the appliance declares alike: named after its file, described by the first
line under its docstring's heading, one run at a time from the same start, no backfill."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pendulum

START_DATE = pendulum.datetime(2025, 1, 1, tz="UTC")


def dag_header(dag_file: str, doc: str) -> dict[str, Any]:
    """The keyword arguments of ``@dag`` shared by the DAG in ``dag_file`` documented by ``doc``."""
    return {
        "dag_id": Path(dag_file).stem,
        "description": doc.strip().splitlines()[2],
        "doc_md": doc,
        "start_date": START_DATE,
        "catchup": False,
        "max_active_runs": 1,
    }
