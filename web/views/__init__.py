"""One blueprint per page; the helpers they share."""

from __future__ import annotations

from flask import current_app

from web.clients import ModelServer
from web.config import WebConfig


def config() -> WebConfig:
    return current_app.config["WEB"]


def model_server() -> ModelServer:
    settings = config()
    return ModelServer(
        settings.model_server_url,
        settings.timeout,
        settings.reload_token,
        settings.model_server_api_key,
        settings.platform_verify,
    )
