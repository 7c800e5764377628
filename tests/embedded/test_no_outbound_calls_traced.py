"""The embedded platform phones nowhere: a full ``appliance up`` (start, pipeline run, champion)
and a visit of every UI, traced with ``strace -f -e trace=connect``. The ``up`` runs in secure
mode (``APPLIANCE_SECURE=on``), whose TLS and API keys are checked on the same platform.

Every process of the platform is a descendant of the traced launcher (supervisord daemonizes
but stays in the trace), so any connection attempt to a non-loopback address, successful or
not, is in the trace. The test also reads every started process's environment back and asks
MLflow's own switch whether telemetry is off there.

The environment handed to the launcher is stripped of the variables MLflow takes for "running
in CI or under pytest" (it silently disables telemetry for those), so the switches under test
are the appliance's own.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from testsupport import servers
from testsupport.model_server import LISTING

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
APPLIANCE = REPO / "embedded" / "appliance.py"
sys.path.insert(0, str(REPO / "embedded"))
import services  # noqa: E402 (embedded/ is a directory of scripts, not a package)

#: mlflow/telemetry/utils.py _is_ci_env_or_testing: any of these turns telemetry off by itself.
CI_MARKERS = (
    "PYTEST_CURRENT_TEST",
    "GITHUB_ACTIONS",
    "CI",
    "CIRCLECI",
    "GITLAB_CI",
    "JENKINS_URL",
    "TRAVIS",
    "TF_BUILD",
    "BITBUCKET_BUILD_NUMBER",
    "CODEBUILD_BUILD_ARN",
    "BUILDKITE",
    "CODEBUILD_BUILD_ID",
)

_CONNECT = re.compile(r"^(?P<pid>\d+)\s+connect\(\d+, \{sa_family=(?P<family>AF_\w+)(?P<rest>.*)$")
_IPV4 = re.compile(r'sin_addr=inet_addr\("(?P<address>[\d.]+)"\)')
_IPV6 = re.compile(r'inet_pton\(AF_INET6, "(?P<address>[^"]+)"')


def non_loopback_connects(trace: str) -> list[str]:
    """The trace lines of connect() calls to anything but loopback or a local socket.

    0.0.0.0 and :: as a destination mean "this host" on Linux (Airflow probes its own ports
    that way), so they stay on the machine too.
    """
    found = []
    for line in trace.splitlines():
        match = _CONNECT.match(line)
        if match is None:
            continue
        family, rest = match["family"], match["rest"]
        if family in ("AF_UNIX", "AF_UNSPEC"):
            continue
        if family == "AF_INET" and (ipv4 := _IPV4.search(rest)):
            if ipv4["address"].startswith("127.") or ipv4["address"] == "0.0.0.0":
                continue
        elif family == "AF_INET6" and (ipv6 := _IPV6.search(rest)):
            address = ipv6["address"]
            if address in ("::1", "::") or address.startswith("::ffff:127."):
                continue
        found.append(line)
    return found


def test_the_trace_parser_flags_every_non_loopback_family():
    trace = "\n".join(
        [
            '7 connect(3, {sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr("127.0.0.1")}'
            ", 16) = 0",
            "7 connect(3, {sa_family=AF_INET6, sin6_port=htons(80), sin6_flowinfo=htonl(0), "
            'inet_pton(AF_INET6, "::1", &sin6_addr), sin6_scope_id=0}, 28) = 0',
            '7 connect(4, {sa_family=AF_UNIX, sun_path="/tmp/s.sock"}, 110) = 0',
            '8 connect(5, {sa_family=AF_INET, sin_port=htons(443), sin_addr=inet_addr("52.1.2.3")}'
            ", 16) = -1 ENETUNREACH",
            "9 connect(5, {sa_family=AF_INET6, sin6_port=htons(53), sin6_flowinfo=htonl(0), "
            'inet_pton(AF_INET6, "2001:db8::1", &sin6_addr), sin6_scope_id=0}, 28) = 0',
            "9 connect(6, {sa_family=AF_NETLINK, nl_pid=0, nl_groups=00000000}, 12) = 0",
        ]
    )
    flagged = non_loopback_connects(trace)
    assert [line.split()[0] for line in flagged] == ["8", "9", "9"]


def _listening_addresses(pids: list[int]) -> dict[str, str]:
    """'address:port' -> command, for every TCP socket the given processes listen on."""
    owners: dict[str, int] = {}
    for pid in pids:
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    owners[target[8:-1]] = pid
        except OSError:
            continue
    found = {}
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state != "0A" or inode not in owners:  # 0A: LISTEN
                continue
            address_hex, port_hex = local.split(":")
            raw = bytes.fromhex(address_hex)
            # /proc/net shows each 32-bit word in host (little-endian) order.
            words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
            address = ipaddress.ip_address(words)
            found[f"{address}:{int(port_hex, 16)}"] = _command(owners[inode])
    return found


def _loopback(address: str) -> bool:
    ip = ipaddress.ip_address(address.rsplit(":", 1)[0])
    mapped = getattr(ip, "ipv4_mapped", None)
    return ip.is_loopback or (mapped is not None and mapped.is_loopback)


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:120]
    except OSError:
        return "?"


_EXECVE = re.compile(
    r'^(?P<pid>\d+)\s+execve\("(?P<program>[^"]+)", \[(?P<args>.*?)\], \[(?P<env>.*)\]'
)


def started_programs(trace: str) -> list[tuple[str, dict[str, str]]]:
    """(program and arguments, environment) of every execve() in a ``strace -v`` trace.

    The environment is read from the exec call rather than /proc/PID/environ: gunicorn and
    Airflow retitle their processes with setproctitle, which overwrites that memory.
    """
    found = []
    for line in trace.splitlines():
        match = _EXECVE.match(line)
        if match is None:
            continue
        env = dict(
            item.split("=", 1)
            for item in re.findall(r'"((?:[^"\\]|\\.)*)"', match["env"])
            if "=" in item
        )
        found.append((f"{match['program']} {match['args'][:100]}", env))
    return found


def mlflow_telemetry_off(environ: dict[str, str]) -> bool:
    """MLflow's own reading of its switches (mlflow/telemetry/utils.py), for ``environ``."""
    from mlflow.environment_variables import MLFLOW_DISABLE_TELEMETRY

    saved = dict(os.environ)
    try:
        os.environ.clear()
        os.environ.update(environ)
        return MLFLOW_DISABLE_TELEMETRY.get() or environ.get("DO_NOT_TRACK", "").lower() == "true"
    finally:
        os.environ.clear()
        os.environ.update(saved)


def test_started_programs_reads_the_environment_of_each_exec():
    trace = (
        '12 execve("/v/bin/gunicorn", ["gunicorn", "-c", "x"], ["A=1", "B=x=\\"y\\""]) = 0\n'
        '13 connect(3, {sa_family=AF_UNIX, sun_path="/s"}, 110) = 0\n'
        '14 execve("/usr/bin/git", ["git"], ["MLFLOW_DISABLE_TELEMETRY=true"]) = 0\n'
    )
    (gunicorn, env), (_, git_env) = started_programs(trace)
    assert gunicorn.startswith("/v/bin/gunicorn") and env == {"A": "1", "B": 'x=\\"y\\"'}
    assert mlflow_telemetry_off(git_env) and not mlflow_telemetry_off(env)


def _visit_every_ui(urls: dict[str, str], operator_token: str, ca: str) -> None:
    """What a person opening each UI makes the servers do (pages, API calls behind them)."""
    for path in ("/", "/ajax-api/3.0/mlflow/ui-telemetry", "/api/2.0/mlflow/experiments/search"):
        requests.get(urls["mlflow"] + path, params={"max_results": 10}, timeout=30)
    for path in ("/", "/api/v2/monitor/health", "/api/v2/version"):
        requests.get(urls["airflow"] + path, timeout=30)
    # verify= per request: requests lets REQUESTS_CA_BUNDLE override a Session's verify.
    web = requests.Session()
    for path in ("/", "/compare", "/models", "/status"):
        page = web.get(urls["web_ui"] + path, verify=ca, timeout=60)
        assert page.status_code < 500, (path, page.status_code)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    if token:
        web.post(
            urls["web_ui"] + "/status/login",
            data={"csrf_token": token[1], "token": operator_token},
            verify=ca,
            timeout=30,
        )
        web.get(urls["web_ui"] + "/status", verify=ca, timeout=60)
    requests.get(urls["model_server"] + "/model", verify=ca, timeout=30)
    requests.get(urls["data_api"] + "/health", timeout=30)


@dataclass
class TracedPlatform:
    """An ``appliance up`` in secure mode under strace, run until the platform runs."""

    state: Path
    ports: dict[str, int]
    env: dict[str, str]
    tracer: subprocess.Popen
    trace_file: Path
    up_seconds: float

    @property
    def ca(self) -> str:
        return str(self.state / "tls" / "ca.crt")

    @property
    def urls(self) -> dict[str, str]:
        return services.urls(self.env)

    @property
    def secrets(self) -> dict[str, str]:
        return dict(
            line.split("=", 1)
            for line in (self.state / "secrets.env").read_text().splitlines()
            if "=" in line and not line.startswith("#")
        )

    def stop(self) -> str:
        """``appliance down`` (again is harmless), then the finished trace."""
        down = [str(servers.BIN / "python"), str(APPLIANCE), "down"]
        subprocess.run(down, env=self.env, capture_output=True, timeout=180, check=False)
        try:
            self.tracer.wait(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(self.tracer.pid, 9)
            self.tracer.wait()
        return self.trace_file.read_text()


@pytest.fixture(scope="module")
def traced_platform(tmp_path_factory):
    """One traced ``appliance up`` for this module, in secure mode (TLS and API keys), the mode
    with more to start; the plain mode's ``up`` runs in test_embedded_backup."""
    tmp = tmp_path_factory.mktemp("traced-up")
    state = tmp / "state"
    ports = {service.name: servers.free_port() for service in services.SERVICES}
    env = {key: value for key, value in os.environ.items() if key not in CI_MARKERS}
    env.update({f"APPLIANCE_{name.upper()}_PORT": str(port) for name, port in ports.items()})
    env.update({"APPLIANCE_STATE": str(state), "APPLIANCE_SECURE": "on"})
    trace_file = tmp / "connect.trace"
    up_log = tmp / "up.log"
    started = time.monotonic()
    with up_log.open("w") as log:
        tracer = subprocess.Popen(
            [
                "strace",
                "-f",
                "--seccomp-bpf",
                "-qq",
                "-e",
                "trace=connect,execve",
                "-v",
                "-s",
                "65536",
                "-o",
                str(trace_file),
                # A shell reports the launcher's end: supervisord, which it daemonized, keeps
                # the trace (and strace) running whether the start worked or not.
                "/bin/sh",
                "-c",
                '"$@"; echo "appliance up exited with status $?"',
                "sh",
                str(servers.BIN / "python"),
                str(APPLIANCE),
                "up",
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    platform = TracedPlatform(state, ports, env, tracer, trace_file, 0.0)
    try:
        deadline = time.monotonic() + 1200
        while "The platform runs." not in up_log.read_text():
            assert time.monotonic() < deadline, up_log.read_text()[-3000:]
            assert "appliance up exited" not in up_log.read_text(), up_log.read_text()[-3000:]
            assert tracer.poll() is None, up_log.read_text()[-3000:]
            time.sleep(3)
        assert "Secure mode" in up_log.read_text()
        platform.up_seconds = time.monotonic() - started
        yield platform
    finally:
        platform.stop()


def test_secure_mode_serves_tls_and_wants_keys(traced_platform):
    """The pipeline's run ended with a champion (its reload call reached the https model
    server with the operator key, verifying the local CA); the model server refuses keyless
    and plain-HTTP requests and answers a client key; the web UI serves TLS, HSTS and a
    Secure session cookie."""
    ca, urls, ports = traced_platform.ca, traced_platform.urls, traced_platform.ports
    model_server, web_ui = urls["model_server"], urls["web_ui"]
    assert model_server.startswith("https://") and web_ui.startswith("https://")

    keyless = requests.post(f"{model_server}/predict", json=LISTING, verify=ca, timeout=30)
    assert keyless.status_code == 401
    headers = {"X-API-Key": traced_platform.secrets["MODEL_SERVER_SCRIPTS_KEY"]}
    scored = requests.post(
        f"{model_server}/predict", json=LISTING, headers=headers, verify=ca, timeout=30
    )
    assert scored.status_code == 200, scored.text
    assert scored.json()["price"] > 0
    log = requests.get(f"{model_server}/predictions", headers=headers, verify=ca, timeout=30)
    assert log.status_code == 403  # a client key is not an operator key
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{model_server}/health", timeout=30)  # the public trust store
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"http://127.0.0.1:{ports['model_server']}/health", timeout=30)

    page = requests.Session().get(f"{web_ui}/", verify=ca, timeout=60)
    assert page.status_code == 200
    assert "Strict-Transport-Security" in page.headers
    # The form's CSRF token lives in the session: its cookie is set on this page.
    cookies = page.headers.get("Set-Cookie", "")
    assert "session=" in cookies and "Secure" in cookies, cookies
    context = ssl.create_default_context(cafile=ca)
    with context.wrap_socket(
        socket.create_connection(("127.0.0.1", ports["web_ui"])), server_hostname="127.0.0.1"
    ) as tls_socket:
        assert tls_socket.version() in ("TLSv1.2", "TLSv1.3")


def test_a_pipeline_run_and_ui_visits_make_no_connection_off_the_machine(traced_platform):
    _visit_every_ui(
        traced_platform.urls, traced_platform.secrets["WEB_OPERATOR_TOKEN"], traced_platform.ca
    )
    supervisord = int((traced_platform.state / "supervisord.pid").read_text())
    listening = _listening_addresses(_descendants(supervisord))
    mlflow_port = traced_platform.ports["mlflow"]
    assert any(address.endswith(f":{mlflow_port}") for address in listening), listening
    exposed = {address: cmd for address, cmd in listening.items() if not _loopback(address)}
    assert exposed == {}, "the embedded platform must listen on loopback only"

    trace = traced_platform.stop()
    # The first exec is the launcher itself, in the test's environment: it sets the switches
    # for itself (os.environ) and everything it starts.
    _shell, launcher, *programs = started_programs(trace)
    assert "appliance.py" in launcher[0]
    assert len(programs) >= 10, programs
    telemetry_on = [program for program, env in programs if not mlflow_telemetry_off(env)]
    assert telemetry_on == [], "MLflow telemetry is on in these processes"
    leaked_ci = [program for program, env in programs if set(env) & set(CI_MARKERS)]
    assert leaked_ci == [], "the test itself must not hand MLflow its CI escape hatch"
    connects = [line for line in trace.splitlines() if " connect(" in line]
    assert len(connects) > 100, "the trace saw the platform's own loopback traffic"
    assert non_loopback_connects(trace) == []
    print(
        f"appliance up (secure mode) under strace: {traced_platform.up_seconds:.0f} s; "
        f"{len(programs)} programs started, {len(connects)} connect() calls traced"
    )
