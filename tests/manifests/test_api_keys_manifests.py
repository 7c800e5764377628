"""API keys in the rendered manifests: on by default, one key per client, revocable."""

from __future__ import annotations

import yaml


def _secret(render_dir, file, name):
    docs = yaml.safe_load_all((render_dir / "secrets" / file).read_text())
    return next(d for d in docs if d and d["kind"] == "Secret" and d["metadata"]["name"] == name)


def _env(rendered, deployment):
    doc = next(
        d
        for d in rendered.docs
        if d["kind"] == "Deployment" and d["metadata"]["name"] == deployment
    )
    container = doc["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e.get("value") for e in container["env"]}, container


def test_keys_on_by_default_each_client_holds_its_own(rendered):
    r = rendered
    env, container = _env(r, "model-server")
    assert env["MODEL_SERVER_AUTH"] == "on"
    assert {"name": "metrics", "containerPort": 9464} in container["ports"]
    keys = _secret(r.dir, "50-model-server.yaml", "model-server-credentials")["stringData"]
    entries = dict(e.rsplit(":", 1) for e in keys["MODEL_SERVER_API_KEYS"].split(","))
    assert entries == {
        f"{n}:{role}": r.secrets[f"model_server_api_key_{n}"]
        for n, role in [
            ("web_ui", "operator"),
            ("pipeline", "operator"),
            ("smoke", "operator"),
            ("scripts", "client"),
        ]
    }
    web = _secret(r.dir, "60-web-ui.yaml", "web-ui-credentials")["stringData"]
    assert web["MODEL_SERVER_API_KEY"] == r.secrets["model_server_api_key_web_ui"]


def test_revoked_key_leaves_the_server_and_its_client(rendered_variant):
    """VARIANT_SETTINGS revoke the web UI's key and turn the model server's keys off."""
    r = rendered_variant
    keys = _secret(r.dir, "50-model-server.yaml", "model-server-credentials")["stringData"]
    assert "web_ui:" not in keys["MODEL_SERVER_API_KEYS"]
    assert r.secrets["model_server_api_key_web_ui"] not in keys["MODEL_SERVER_API_KEYS"]
    assert "scripts:client:" in keys["MODEL_SERVER_API_KEYS"]
    web = _secret(r.dir, "60-web-ui.yaml", "web-ui-credentials")["stringData"]
    assert web["MODEL_SERVER_API_KEY"] == ""
    assert _env(r, "model-server")[0]["MODEL_SERVER_AUTH"] == "off"
