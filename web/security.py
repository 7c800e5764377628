"""Browser-facing hardening of the web UI: security headers, and a throttle on the login.

Every page is server-rendered with one stylesheet and inline SVG charts, and no script at all,
so the Content-Security-Policy can forbid inline scripts and styles outright.

The login throttle counts failed operator logins per client address inside one worker process:
with gunicorn's N workers an address gets up to N times the budget before every worker refuses
it. That is enough to turn a guessing loop into a crawl; it is not an account lockout.
"""

from __future__ import annotations

import math
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable

from flask import Flask, render_template, request
from flask.typing import ResponseReturnValue

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "SECURITY_HEADERS",
    "STRICT_TRANSPORT_SECURITY",
    "LoginThrottle",
    "install",
]

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}

#: Sent when the UI is served over TLS (WEB_SECURE_COOKIES on, or the request came over
#: HTTPS): browsers then refuse plain HTTP to this host for a year. No includeSubDomains: the
#: appliance does not own the other names under its host's domain.
STRICT_TRANSPORT_SECURITY = "max-age=31536000"

LOGIN_ENDPOINT = "status.login"


class LoginThrottle:
    """At most ``failures`` failed logins per client address within ``window`` seconds."""

    def __init__(
        self, failures: int, window: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.failures = failures
        self.window = window
        self.clock = clock
        self._failed: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, address: str) -> int:
        """Seconds until ``address`` may try again; 0 when it may try now."""
        with self._lock:
            recent = self._recent(address)
            if len(recent) < self.failures:
                return 0
            return max(1, math.ceil(recent[0] + self.window - self.clock()))

    def failed(self, address: str) -> None:
        with self._lock:
            self._recent(address).append(self.clock())

    def succeeded(self, address: str) -> None:
        with self._lock:
            self._failed.pop(address, None)

    def _recent(self, address: str) -> deque[float]:
        now = self.clock()
        recent = self._failed.setdefault(address, deque())
        while recent and recent[0] <= now - self.window:
            recent.popleft()
        # Forget addresses that went quiet, so the table does not grow without bound.
        if len(self._failed) > 10_000:
            for other in [a for a, times in self._failed.items() if not times]:
                del self._failed[other]
        return recent


def install(app: Flask, throttle: LoginThrottle) -> None:
    """Add the headers to every response and the throttle to the login endpoint."""

    @app.before_request
    def refuse_throttled_login() -> ResponseReturnValue | None:
        if request.endpoint != LOGIN_ENDPOINT:
            return None
        wait = throttle.retry_after(request.remote_addr or "")
        if not wait:
            return None
        page = render_template(
            "error.html",
            code=429,
            title="Too many failed logins",
            message=f"Too many wrong operator tokens from your address: try again in {wait} s.",
            hint="",
        )
        return page, 429, {"Retry-After": str(wait)}

    @app.after_request
    def count_login_and_add_headers(response):
        if request.endpoint == LOGIN_ENDPOINT and response.status_code < 400:
            address = request.remote_addr or ""
            expected = app.config["WEB"].operator_token
            sent = request.form.get("token", "")
            if expected and secrets.compare_digest(sent, expected):
                throttle.succeeded(address)
            else:
                throttle.failed(address)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if app.config["WEB"].secure_cookies or request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", STRICT_TRANSPORT_SECURITY)
        return response
