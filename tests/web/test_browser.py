"""Browser tests: Debian's headless Chromium driven by Playwright against the UI under gunicorn.

Screenshots land in artifacts/screenshots/ (desktop and phone widths).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.web.conftest import OPERATOR
from testsupport import servers
from testsupport.model_server import TOKEN

pytestmark = [pytest.mark.browser, pytest.mark.integration]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="module")
def web_url(model_server_url, mlflow_server, tmp_path_factory):
    port = servers.free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        "MODEL_SERVER_URL": model_server_url,
        "MLFLOW_TRACKING_URI": mlflow_server.url,
        "WEB_OPERATOR_TOKEN": OPERATOR,
        "MODEL_SERVER_RELOAD_TOKEN": TOKEN,
        "WEB_SECRET_KEY": "browser-test",
    }
    command = servers.gunicorn_command("web.wsgi:app", port)
    log = tmp_path_factory.mktemp("web") / "web.log"
    with servers.serve(command, f"{url}/health", log, env):
        yield url


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail("Debian's chromium is required: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.mark.parametrize(("device", "size"), [("desktop", (1280, 900)), ("phone", (390, 844))])
def test_predict_explain_models_status(browser, web_url, device, size):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": size[0], "height": size[1]})
    page.goto(web_url + "/")
    page.fill("#bed", "4")
    page.fill("#bath", "3")
    page.fill("#house_size", "2400")
    page.fill("#acre_lot", "0.3")
    page.select_option("#state", "Texas")
    page.click("button[type=submit]")
    price = page.text_content("#price")
    assert price.startswith("$") and len(price) > 4
    bars = page.locator("#waterfall svg rect")
    assert bars.count() >= 6
    assert (
        page.locator("#waterfall svg title").first.text_content().startswith("How the prediction")
    )
    page.screenshot(path=str(SHOTS / f"predict-{device}.png"), full_page=True)

    page.click("text=Models")
    assert "Champion:" in page.text_content("h1")
    assert page.locator("#history tbody tr").count() >= 1
    page.screenshot(path=str(SHOTS / f"models-{device}.png"), full_page=True)

    page.click("text=Status")
    assert page.locator("#services tbody tr").count() == 5
    page.fill("#token", OPERATOR)
    page.click("text=Unlock")
    page.click("#reload")
    assert "serving version" in page.text_content(".flash.ok")
    page.screenshot(path=str(SHOTS / f"status-{device}.png"), full_page=True)
    page.close()


def test_invalid_input_is_marked_in_the_browser(browser, web_url):
    page = browser.new_page()
    page.goto(web_url + "/")
    page.fill("#bed", "-2")
    page.click("button[type=submit]")
    assert "Bedrooms: must be at least 0" in page.text_content("#bed-error")
    assert page.input_value("#bed") == "-2"
    page.close()
