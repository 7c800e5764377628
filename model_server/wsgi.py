"""WSGI entry point for gunicorn: ``model_server.wsgi:app`` (one app per worker, no preload)."""

import logging
import os
import sys

# The server draws nothing. shap imports matplotlib only for its plots and skips them when it
# cannot be imported; keeping it out saves about 35 MB in every worker.
if os.environ.get("MODEL_SERVER_ALLOW_MATPLOTLIB", "") != "1":
    sys.modules.setdefault("matplotlib", None)

from model_server import create_app

logging.basicConfig(
    level=os.environ.get("MODEL_SERVER_LOG_LEVEL", "info").upper(),
    format="[%(asctime)s] [%(process)d] [%(levelname)s] %(name)s: %(message)s",
)
app = create_app()
