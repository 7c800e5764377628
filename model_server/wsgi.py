"""WSGI entry point for gunicorn: ``model_server.wsgi:app`` (one app per worker, no preload)."""

import logging
import os

from model_server import create_app

logging.basicConfig(
    level=os.environ.get("MODEL_SERVER_LOG_LEVEL", "info").upper(),
    format="[%(asctime)s] [%(process)d] [%(levelname)s] %(name)s: %(message)s",
)
app = create_app()
