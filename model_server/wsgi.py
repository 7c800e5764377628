"""WSGI entry point for gunicorn: ``model_server.wsgi:app`` (one app per worker, no preload)."""

from model_server import create_app

app = create_app()
