"""Prometheus in the embedded runtime, when the OS has it (Debian: ``apt install prometheus``).

Writes the configuration and alert rules, rendered from the same templates as the cluster's
(``monitoring/``) with loopback targets, and returns the supervisord program that runs it.
Without a ``prometheus`` binary the platform runs as before and nothing is written.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from monitoring.render import write_config  # noqa: E402 (needs the checkout on sys.path)

__all__ = ["supervisor_program"]

#: Days of samples kept on this machine (the cluster's is monitoring_retention).
RETENTION = "15d"


def supervisor_program(state: Path, ports: dict[str, int], binary: str | None = None) -> str:
    """The ``[program:prometheus]`` section (empty when no prometheus binary is found)."""
    binary = binary or shutil.which("prometheus")
    if not binary:
        return ""
    directory = state / "prometheus"
    config = write_config(
        directory,
        {
            "model-server": f"127.0.0.1:{ports['model_server']}",
            "pipeline": f"127.0.0.1:{ports['web_ui']}",
            "mlflow": f"127.0.0.1:{ports['mlflow']}",
        },
        f"127.0.0.1:{ports['prometheus']}",
    )
    command = " ".join(
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={directory / 'data'}",
            f"--storage.tsdb.retention.time={RETENTION}",
            f"--web.listen-address=127.0.0.1:{ports['prometheus']}",
        ]
    )
    return f"""
[program:prometheus]
command = {command}
priority = 40
stopasgroup = true
killasgroup = true
stdout_logfile = {state / "logs" / "prometheus.log"}
redirect_stderr = true
"""
