"""WSGI entry point for gunicorn: ``model_server.wsgi:app`` (one app per worker, no preload)."""

import logging

from model_server.config import ProcessConfig
from model_server.unused_modules import keep_out

_config = ProcessConfig.from_env()
# Before anything imports pandas, skops or shap: about 80 MB less in every worker.
keep_out(allow_matplotlib=_config.allow_matplotlib)

from model_server import create_app  # noqa: E402  (after the block of unused modules)

logging.basicConfig(
    level=_config.log_level.upper(),
    format="[%(asctime)s] [%(process)d] [%(levelname)s] %(name)s: %(message)s",
)
app = create_app()
