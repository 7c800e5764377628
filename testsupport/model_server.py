"""The model server under real gunicorn (its own ``gunicorn_conf``), and the values the tests
and benchmarks send it."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

from testsupport.servers import BIN, free_port, start, stop_process, wait_http

REPO = Path(__file__).resolve().parents[1]
TOKEN = "test-reload-token-5f1c"
#: API keys of the keys-on pass (model_server.auth): one client, one operator.
CLIENT_KEY = "client-key-0123456789abcdef"
OPERATOR_KEY = "operator-key-0123456789abcdef"
API_KEYS = f"scripts:client:{CLIENT_KEY},ops:operator:{OPERATOR_KEY}"
LISTING = {
    "bed": 3,
    "bath": 2,
    "acre_lot": 0.25,
    "house_size": 1850,
    "state": "Texas",
    "status": "for_sale",
}
#: The web form's fields for the same house, as text.
HOUSE = {
    "bed": "3",
    "bath": "2",
    "house_size": "1850",
    "acre_lot": "0.25",
    "state": "Texas",
    "status": "for_sale",
}


class Gunicorn:
    """A real gunicorn running model_server.wsgi:app on a free loopback port."""

    def __init__(self, state_dir: Path, env: dict[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.state_dir = state_dir
        self.log_path = state_dir / "gunicorn.log"
        state_dir.mkdir(parents=True, exist_ok=True)
        environment = {
            "PYTHONPATH": str(REPO),
            "MODEL_SERVER_BIND": f"127.0.0.1:{self.port}",
            "MODEL_SERVER_STATE_DIR": str(state_dir),
            "MODEL_SERVER_RELOAD_TOKEN": TOKEN,
            "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
            **env,
        }
        command = [
            str(BIN / "gunicorn"),
            "-c", "python:model_server.gunicorn_conf", "model_server.wsgi:app",
        ]  # fmt: skip
        # gunicorn_conf makes the metrics directory under the state directory when this is unset.
        self.process = start(
            command, self.log_path, environment, cwd=state_dir, unset=("PROMETHEUS_MULTIPROC_DIR",)
        )

    @property
    def pid(self) -> int:
        """The gunicorn master's process id."""
        return self.process.pid

    def wait_ready(self, timeout: float = 120) -> None:
        wait_http(f"{self.url}/ready", timeout, self.process, self.log_path)

    def wait_live(self, timeout: float = 60) -> None:
        wait_http(f"{self.url}/health", timeout, self.process, self.log_path)

    def terminate(self, timeout: float = 60) -> int:
        """Graceful stop (SIGTERM to the master); returns its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                stop_process(self.process)
        return self.process.returncode

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")
