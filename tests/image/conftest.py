"""Run the rendered manifests' containers in the built application image, under podman.

What stands in for Kubernetes here, and why:
- One podman bridge network made for the test run (CNI, podman 4.3: no DNS plugin here). Each
  container gets a fixed address on it, and every container gets `--add-host` entries that map
  the manifests' Service names (mlflow, airflow-api-server, postgresql, seaweedfs, ...) to those
  addresses, so the rendered URLs are used unchanged. The Services' ports equal the containers'
  ports in these manifests (a test checks it), so no port mapping is needed either.
- PostgreSQL (Debian's package) and the S3 server (moto) run on the host, listening on the
  network's gateway address under the Service ports.
- A container runs with the pod's runAsUser/runAsGroup, a read-only root file system when its
  securityContext says readOnlyRootFilesystem (without podman's implicit tmpfs on /tmp), the
  container's capabilities dropped and no privilege escalation; emptyDir volumes are host
  directories (shared with init containers, as in a pod), Secret and ConfigMap volumes are
  read-only files. Env and envFrom are resolved from the rendered ConfigMaps and the Secrets
  rendered with render_secrets=true (generated test secrets, never committed).
What this cannot show: the kubelet's probe timing, Kubernetes DNS and Service load balancing,
and the KubernetesExecutor's pod creation (no API server exists here).
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
import yaml

from tests.manifests.conftest import REPO
from testsupport.postgres import bootstrap, cluster, pg_bin
from testsupport.servers import BIN

ULIMITS = ["--ulimit=nofile=20000:20000", "--ulimit=nproc=32768:32768"]
# The Services of our image's workloads, plus the data API (the emulator, also in our image).
SERVICES = ("mlflow", "airflow-api-server", "model-server", "web-ui", "data-api")


def podman(*args: str, check: bool = True, timeout: float = 120, **kwargs):
    proc = subprocess.run(
        ["podman", *args], capture_output=True, text=True, timeout=timeout, **kwargs
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"podman {' '.join(args[:3])} failed: {proc.stderr[-3000:]}")
    return proc


@pytest.fixture(scope="session")
def app_image() -> str:
    """The image built by scripts/app-image.sh (idempotent: reused when the tag exists)."""
    env = {**os.environ, "APP_IMAGE_BASE": os.environ.get("APP_IMAGE_BASE", "local")}
    proc = subprocess.run(
        [str(REPO / "scripts" / "app-image.sh")],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    assert proc.returncode == 0, f"scripts/app-image.sh failed:\n{proc.stderr[-4000:]}"
    return proc.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="session")
def image_render(rendered_tls_off):
    """The session's TLS-off render (tests/conftest.py), with its Secrets; the data API is
    the emulator here.

    TLS off: the stand-ins for PostgreSQL (Debian's) and SeaweedFS (moto) here speak plain
    TCP/HTTP. The TLS settings are run against real TLS servers in tests/manifests
    (test_postgres_tls, test_s3_tls, test_mlflow_server_config, test_airflow_api_auth).
    """
    return rendered_tls_off


@dataclass
class Manifests:
    """The rendered documents, with ConfigMaps and Secrets by name for env resolution."""

    docs: list[dict]
    config_maps: dict[str, dict] = field(default_factory=dict)
    secrets: dict[str, dict] = field(default_factory=dict)

    @classmethod
    def load(cls, render) -> Manifests:
        docs = list(render.docs)
        for path in sorted((render.dir / "secrets").glob("*.yaml")):
            docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
        self = cls(docs)
        for doc in docs:
            name = doc["metadata"]["name"]
            if doc["kind"] == "ConfigMap":
                self.config_maps[name] = doc.get("data") or {}
            elif doc["kind"] == "Secret":
                self.secrets[name] = doc.get("stringData") or {}
        return self

    def workload(self, kind: str, name: str) -> dict:
        for doc in self.docs:
            if doc["kind"] == kind and doc["metadata"]["name"] == name:
                return doc
        raise AssertionError(f"{kind}/{name} is not in the rendered manifests")

    def task_pod_spec(self) -> dict:
        """The KubernetesExecutor's pod template, as the scheduler reads it from its ConfigMap."""
        template = yaml.safe_load(self.config_maps["airflow-pod-template"]["pod_template.yaml"])
        return template["spec"]

    def pod_spec(self, kind: str, name: str) -> dict:
        doc = self.workload(kind, name)
        return doc["spec"] if kind == "Pod" else doc["spec"]["template"]["spec"]

    def service_ports(self) -> dict[str, list[tuple[int, object]]]:
        return {
            d["metadata"]["name"]: [(p["port"], p.get("targetPort")) for p in d["spec"]["ports"]]
            for d in self.docs
            if d["kind"] == "Service"
        }

    def env(self, container: dict) -> dict[str, str]:
        """The container's environment as the kubelet builds it: envFrom first, then env."""
        env: dict[str, str] = {}
        for source in container.get("envFrom", []):
            if "configMapRef" in source:
                env.update(self.config_maps[source["configMapRef"]["name"]])
            else:
                env.update(self.secrets[source["secretRef"]["name"]])
        for item in container.get("env", []):
            if "value" in item:
                env[item["name"]] = str(item["value"])
            else:
                ref = item["valueFrom"]
                if "secretKeyRef" in ref:
                    key = ref["secretKeyRef"]
                    env[item["name"]] = self.secrets[key["name"]][key["key"]]
                else:
                    key = ref["configMapKeyRef"]
                    env[item["name"]] = self.config_maps[key["name"]][key["key"]]
        return {k: str(v) for k, v in env.items()}


@pytest.fixture(scope="session")
def manifests(image_render) -> Manifests:
    return Manifests.load(image_render)


@dataclass
class Network:
    name: str
    subnet: ipaddress.IPv4Network
    gateway: str
    hosts: dict[str, str] = field(default_factory=dict)
    _next: int = 10

    def address(self, *service_names: str) -> str:
        """A fresh container address, under which the given Service names resolve."""
        ip = str(self.subnet.network_address + self._next)
        self._next += 1
        for name in service_names:
            self.hosts[name] = ip
        return ip


@pytest.fixture(scope="session")
def network(app_image) -> Network:
    name = f"house-prices-image-{uuid.uuid4().hex[:8]}"
    podman("network", "create", name)
    try:
        info = json.loads(podman("network", "inspect", name).stdout)[0]
        subnet = info["subnets"][0]
        net = Network(name, ipaddress.ip_network(subnet["subnet"]), subnet["gateway"])
        # CNI makes the bridge, and so the gateway address the host services listen on, only
        # when the first container joins: keep one there for the whole session.
        podman(
            "run",
            "--detach",
            f"--name={name}-anchor",
            f"--network={name}",
            *ULIMITS,
            "--read-only",
            app_image,
            "sleep",
            "infinity",
        )
        yield net
    finally:
        podman("rm", "--force", "--time=0", f"{name}-anchor", check=False)
        podman("network", "rm", "--force", name, check=False)


@pytest.fixture(scope="session")
def postgres(network, image_render):
    """Debian's PostgreSQL as the `postgresql` Service, bootstrapped by the rendered script."""
    superuser = image_render.secrets["postgres_superuser_password"]
    network.hosts["postgresql"] = network.gateway
    with cluster(superuser, network.gateway, 5432, allow=network.subnet):
        server = {"host": network.gateway, "port": 5432, "superuser": superuser}
        proc = bootstrap(image_render, server, PGHOST=network.gateway)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        yield server


def psql(server: dict, database: str, sql: str) -> str:
    proc = subprocess.run(
        [
            pg_bin("psql"),
            "-h",
            server["host"],
            "-p",
            str(server["port"]),
            "-U",
            "postgres",
            "-d",
            database,
            "-Atc",
            sql,
        ],
        env={**os.environ, "PGPASSWORD": server["superuser"]},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


@pytest.fixture(scope="session")
def s3(network, manifests, tmp_path_factory):
    """moto's S3 server as the `seaweedfs` Service, with the platform's buckets."""
    import boto3

    log = tmp_path_factory.mktemp("s3") / "moto.log"
    url = f"http://{network.gateway}:8333"
    with log.open("w") as handle:
        process = subprocess.Popen(
            [str(BIN / "moto_server"), "-H", network.gateway, "-p", "8333"],
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_http(f"{url}/moto-api/", timeout=60, alive=lambda: process.poll() is None)
        network.hosts["seaweedfs"] = network.gateway
        creds = manifests.secrets["s3-credentials"]
        client = boto3.client(
            "s3",
            endpoint_url=url,
            aws_access_key_id=creds["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=creds["AWS_SECRET_ACCESS_KEY"],
            region_name="us-east-1",
        )
        for bucket in ("house-prices", "mlflow-artifacts", "airflow-logs"):
            client.create_bucket(Bucket=bucket)
        yield client
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)


def wait_http(url: str, timeout: float, alive=lambda: True, ok=(200,)) -> requests.Response:
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if not alive():
            raise AssertionError(f"{url}: the server exited ({last})")
        try:
            answer = requests.get(url, timeout=5)
            if answer.status_code in ok:
                return answer
            last = f"HTTP {answer.status_code}: {answer.text[:200]}"
        except requests.RequestException as error:
            last = str(error)
        time.sleep(1)
    raise AssertionError(f"{url} not healthy within {timeout} s: {last}")


@dataclass
class Container:
    name: str
    ip: str
    spec: dict
    runner: PodRunner

    def running(self) -> bool:
        state = podman("inspect", "--format", "{{.State.Running}}", self.name, check=False)
        return state.stdout.strip() == "true"

    def logs(self, lines: int = 60) -> str:
        proc = podman("logs", "--tail", str(lines), self.name, check=False)
        return proc.stdout + proc.stderr

    def port(self, name_or_number) -> int:
        if isinstance(name_or_number, int):
            return name_or_number
        for port in self.spec.get("ports", []):
            if port["name"] == name_or_number:
                return port["containerPort"]
        raise AssertionError(f"{self.name}: no port named {name_or_number}")

    def probe(self, kind: str = "readinessProbe") -> str:
        """Run the manifest's probe once; return what healthy looks like, raise otherwise."""
        probe = self.spec[kind]
        if "httpGet" in probe:
            get = probe["httpGet"]
            url = f"http://{self.ip}:{self.port(get['port'])}{get['path']}"
            answer = requests.get(url, timeout=probe.get("timeoutSeconds", 1))
            if not 200 <= answer.status_code < 400:
                raise AssertionError(f"{url}: HTTP {answer.status_code} {answer.text[:300]}")
            return answer.text
        command = probe["exec"]["command"]
        proc = podman(
            "exec", self.name, *command, check=False, timeout=probe.get("timeoutSeconds", 1)
        )
        if proc.returncode != 0:
            raise AssertionError(f"{command}: exit {proc.returncode} {proc.stdout}{proc.stderr}")
        return proc.stdout

    def wait_healthy(self, timeout: float, kind: str = "readinessProbe") -> str:
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            if not self.running():
                raise AssertionError(f"{self.name} exited:\n{self.logs()}")
            try:
                return self.probe(kind)
            except (AssertionError, requests.RequestException, subprocess.TimeoutExpired) as e:
                last = e
            time.sleep(2)
        raise AssertionError(f"{self.name} not healthy in {timeout} s ({last}):\n{self.logs()}")


class PodRunner:
    """Runs a rendered pod's containers with podman, as the kubelet would run them."""

    def __init__(self, image: str, network: Network, manifests: Manifests, workdir: Path):
        self.image = image
        self.network = network
        self.manifests = manifests
        self.workdir = workdir
        self.started: list[str] = []

    def _volume_args(self, pod: str, spec: dict, container: dict) -> list[str]:
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        args = []
        for mount in container.get("volumeMounts", []):
            volume = volumes[mount["name"]]
            source = self.workdir / pod / mount["name"]
            if not source.exists():
                source.mkdir(parents=True)
                if "emptyDir" in volume:
                    source.chmod(0o777)  # what the kubelet gives an emptyDir
                else:
                    kind = "secret" if "secret" in volume else "configMap"
                    ref = volume[kind]
                    name = ref["secretName"] if kind == "secret" else ref["name"]
                    data = (
                        self.manifests.secrets if kind == "secret" else self.manifests.config_maps
                    )[name]
                    items = ref.get("items") or [{"key": k, "path": k} for k in data]
                    for item in items:
                        target = source / item["path"]
                        target.write_text(data[item["key"]])
                        target.chmod(0o644)
                    source.chmod(0o755)
            readonly = mount.get("readOnly", False) or "emptyDir" not in volume
            args.append(f"--volume={source}:{mount['mountPath']}:{'ro' if readonly else 'rw'}")
        return args

    def _args(self, pod: str, spec: dict, container: dict, ip: str | None) -> tuple[list, dict]:
        security = spec.get("securityContext", {})
        env = self.manifests.env(container)
        context = container.get("securityContext", {})
        # As the kubelet does: a read-only root when the manifest asks for one, and then no
        # implicit tmpfs on /tmp, /var/tmp or /run (podman adds those unless told not to); what
        # a container may write is exactly its emptyDir volumes.
        read_only = context.get("readOnlyRootFilesystem") is True
        args = [
            f"--user={security['runAsUser']}:{security.get('runAsGroup', 0)}",
            *(["--read-only", "--read-only-tmpfs=false"] if read_only else []),
            f"--network={self.network.name}",
            *ULIMITS,
            *(f"--add-host={name}:{addr}" for name, addr in sorted(self.network.hosts.items())),
            *(f"--env={name}" for name in sorted(env)),
            *self._volume_args(pod, spec, container),
        ]
        if ip:
            args.append(f"--ip={ip}")
        if "ALL" in context.get("capabilities", {}).get("drop", []):
            args.append("--cap-drop=ALL")
        if context.get("allowPrivilegeEscalation") is False:
            args.append("--security-opt=no-new-privileges")
        if container.get("command"):
            args.append(f"--entrypoint={json.dumps(container['command'])}")
        return args, env

    def run_to_completion(
        self, pod: str, spec: dict, container: dict, timeout: float = 600, command=None
    ) -> subprocess.CompletedProcess:
        if command is not None:
            container = {**container, "command": command}
        args, env = self._args(pod, spec, container, None)
        return subprocess.run(
            ["podman", "run", "--rm", *args, self.image, *container.get("args", [])],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def start(
        self, kind: str, workload: str, container_name: str, service: str | None = None
    ) -> Container:
        """Run the pod's init containers to completion, then start the named container."""
        spec = self.manifests.pod_spec(kind, workload)
        pod = f"{kind}-{workload}".lower()
        for init in spec.get("initContainers", []):
            done = self.run_to_completion(pod, spec, init)
            assert done.returncode == 0, (
                f"{workload} init container {init['name']} failed:\n"
                f"{done.stdout[-3000:]}{done.stderr[-3000:]}"
            )
        container = next(c for c in spec["containers"] if c["name"] == container_name)
        ip = self.network.hosts[service] if service else self.network.address()
        name = f"{self.network.name}-{workload}"
        args, env = self._args(pod, spec, container, ip)
        run = subprocess.run(
            [
                "podman",
                "run",
                "--detach",
                f"--name={name}",
                *args,
                self.image,
                *container.get("args", []),
            ],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        self.started.append(name)  # removed at the end even when it failed to start
        assert run.returncode == 0, f"podman run {name} failed: {run.stderr.strip()[-2000:]}"
        return Container(name, ip, container, self)

    def start_plain(self, service: str, command: list[str]) -> Container:
        """A container of our image that no manifest defines (the data API emulator)."""
        name = f"{self.network.name}-{service}"
        ip = self.network.hosts[service]
        podman(
            "run",
            "--detach",
            f"--name={name}",
            f"--network={self.network.name}",
            f"--ip={ip}",
            *ULIMITS,
            "--read-only",
            self.image,
            *command,
        )
        self.started.append(name)
        return Container(name, ip, {}, self)

    def stop_all(self) -> None:
        for name in reversed(self.started):
            podman("rm", "--force", "--time=5", name, check=False, timeout=60)


@pytest.fixture(scope="session")
def pods(app_image, network, manifests, postgres, s3, tmp_path_factory):
    # Every Service name resolves from the start, in every container (the ClusterIPs).
    for service in SERVICES:
        network.address(service)
    runner = PodRunner(app_image, network, manifests, tmp_path_factory.mktemp("pods"))
    try:
        yield runner
    finally:
        runner.stop_all()
