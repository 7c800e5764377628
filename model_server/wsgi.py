"""WSGI entry point for gunicorn: ``model_server.wsgi:app`` (one app per worker, no preload)."""

import logging
import sys

from model_server.config import ProcessConfig

_config = ProcessConfig.from_env()
# The server draws nothing. shap imports matplotlib only for its plots and skips them when it
# cannot be imported; keeping it out saves about 35 MB in every worker.
if not _config.allow_matplotlib:
    sys.modules.setdefault("matplotlib", None)

from model_server import create_app  # noqa: E402  (after the matplotlib block)

logging.basicConfig(
    level=_config.log_level.upper(),
    format="[%(asctime)s] [%(process)d] [%(levelname)s] %(name)s: %(message)s",
)
app = create_app()
