"""The K3s test double (molecule/shared/k3s_double/k3s.py) run as plain processes on this host.

No systemd: each test binds its own NOTIFY_SOCKET (a unix datagram socket) and waits for the
READY=1 the double sends, as systemd does for the Type=notify k3s unit. K3S_DOUBLE_ROOT keeps
every path in a temp dir, and each node listens on its own loopback address
(K3S_DOUBLE_BIND_ADDRESS), so servers and agents run side by side on their real ports.
The flannel test needs root (it works in a private network namespace made with unshare).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "molecule" / "shared" / "k3s_double" / "k3s.py"
VERSION = "v1.33.5+k3s1"
UPGRADE = "v1.34.1+k3s1"
DATA = "var/lib/rancher/k3s"


def bake(directory: Path, version: str) -> Path:
    """Write the double with its version baked in, as the kit step does."""
    target = directory / version / "k3s"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(SOURCE.read_text().replace("__K3S_DOUBLE_VERSION__", version))
    target.chmod(0o755)
    return target


class Proc:
    def __init__(self, popen, root: Path, address: str, log: Path):
        self.popen, self.root, self.address, self.log = popen, root, address, log

    def text(self) -> str:
        return self.log.read_text()

    def stop(self) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
        return self.popen.wait(timeout=10)


class Cluster:
    """Starts double nodes in one temp dir; each node gets its own root and loopback address."""

    def __init__(self, tmp_path: Path, binaries: dict[str, Path]):
        self.tmp = tmp_path
        self.binaries = binaries
        self.prefix = f"127.{random.randint(1, 250)}.{random.randint(1, 250)}"
        self.procs: list[Proc] = []
        self.netdev = False  # True: flannel.1/cni0 are created (only in a private netns)

    def address(self, index: int) -> str:
        return f"{self.prefix}.{index}"

    def env(self, root: Path, address: str) -> dict:
        env = dict(os.environ, K3S_DOUBLE_ROOT=str(root), K3S_DOUBLE_HEARTBEAT="0.3")
        env.update(K3S_DOUBLE_NODE_GRACE="1.5", K3S_DOUBLE_NETDEV="1" if self.netdev else "0")
        if not self.netdev:
            env["K3S_DOUBLE_BIND_ADDRESS"] = address
        for name in ("NOTIFY_SOCKET", "KUBECONFIG", "K3S_TOKEN", "K3S_URL"):
            env.pop(name, None)
        return env

    def start(self, name, role, index, config, version=VERSION, expect_ready=True, wrap=()):
        root = self.tmp / name
        conf = root / "etc/rancher/k3s/config.yaml"
        conf.parent.mkdir(parents=True, exist_ok=True)
        conf.write_text(config + f"node-name: {name}\n")
        sock_path = self.tmp / f"{name}-{len(self.procs)}.notify"
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(str(sock_path))
        address = self.address(index)
        env = self.env(root, address)
        env["NOTIFY_SOCKET"] = str(sock_path)
        log = self.tmp / f"{name}-{len(self.procs)}.log"
        popen = subprocess.Popen(
            [*wrap, str(self.binaries[version]), role],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log.open("w"),
        )
        proc = Proc(popen, root, address, log)
        self.procs.append(proc)
        sock.settimeout(0.2)
        deadline = time.time() + (10 if expect_ready else 2)
        try:
            while time.time() < deadline:
                try:
                    message = sock.recv(4096).decode()
                except TimeoutError:
                    if popen.poll() is not None:
                        break
                    continue
                if expect_ready:
                    assert message == "READY=1", message
                    return proc
                raise AssertionError(f"{name} notified {message!r}: {proc.text()}")
        finally:
            sock.close()
        if expect_ready:
            raise AssertionError(f"{name} never notified READY=1: {proc.text()}")
        return proc

    def run(self, proc: Proc, *args: str, version=VERSION) -> subprocess.CompletedProcess:
        env = self.env(proc.root, proc.address)
        return subprocess.run(
            [str(self.binaries[version]), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )

    def nodes(self, server: Proc) -> dict:
        result = self.run(server, "kubectl", "get", "nodes", "-o", "json")
        assert result.returncode == 0, result.stderr
        doc = json.loads(result.stdout)
        assert doc["kind"] == "List" and doc["apiVersion"] == "v1"
        return {item["metadata"]["name"]: item for item in doc["items"]}

    def close(self):
        for proc in self.procs:
            if proc.popen.poll() is None:
                proc.popen.kill()
                proc.popen.wait()


def ready(node: dict) -> str:
    (condition,) = [c for c in node["status"]["conditions"] if c["type"] == "Ready"]
    return condition["status"]


@pytest.fixture(scope="module")
def binaries(tmp_path_factory):
    directory = tmp_path_factory.mktemp("bin")
    return {version: bake(directory, version) for version in (VERSION, UPGRADE)}


@pytest.fixture
def cluster(tmp_path, binaries):
    result = Cluster(tmp_path, binaries)
    yield result
    result.close()


def test_version_prints_the_two_release_lines(binaries):
    out = subprocess.run(
        [str(binaries[UPGRADE]), "--version"], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert re.fullmatch(r"k3s version v1\.34\.1\+k3s1 \([0-9a-f]{8}\)", out[0])
    assert re.fullmatch(r"go version go1\.\d+\.\d+", out[1])


def test_unbaked_double_refuses_to_run():
    result = subprocess.run(
        [sys.executable, str(SOURCE), "--version"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 1
    assert "no version baked in" in result.stderr


def test_server_token_kubeconfig_and_restart(cluster):
    config = 'token: pw-one\nwrite-kubeconfig-mode: "0644"\ntls-san:\n- a.example\n'
    server = cluster.start("s1", "server", 2, config)
    token_file = server.root / DATA / "server/token"
    token = token_file.read_text()
    ca = (server.root / DATA / "server/tls/server-ca.crt").read_bytes()
    assert token == f"K10{hashlib.sha256(ca).hexdigest()}::server:pw-one\n"
    assert (server.root / DATA / "server/node-token").read_text() == token
    assert token_file.stat().st_mode & 0o777 == 0o600
    kubeconfig = server.root / "etc/rancher/k3s/k3s.yaml"
    assert kubeconfig.stat().st_mode & 0o777 == 0o644
    text = kubeconfig.read_text()
    assert f"    server: https://{server.address}:6443\n" in text
    for line in ("  name: default", "current-context: default", "kind: Config"):
        assert line in text.splitlines()
    for field in ("certificate-authority-data", "client-certificate-data", "client-key-data"):
        assert re.search(rf"^    {field}: [A-Za-z0-9+/=]+$", text, re.M)
    assert re.search(
        r'level=info msg="Starting k3s v1\.33\.5\+k3s1 \([0-9a-f]{8}\)"', server.text()
    )

    assert server.stop() == 0
    assert "level=info" in server.text() and "level=fatal" not in server.text()
    # The K10 form of the same token is what the roles write back on a second run.
    config_k10 = f"token: {token.strip()}\nwrite-kubeconfig-mode: '0600'\n"
    again = cluster.start("s1", "server", 2, config_k10)
    assert token_file.read_text() == token
    assert (again.root / DATA / "server/tls/server-ca.crt").read_bytes() == ca
    assert kubeconfig.stat().st_mode & 0o777 == 0o600


def test_server_with_another_token_on_existing_data_is_refused(cluster):
    server = cluster.start("s1", "server", 2, "token: first\n")
    server.stop()
    refused = cluster.start("s1", "server", 2, "token: second\n", expect_ready=False)
    assert refused.popen.wait(timeout=10) == 1
    assert "bootstrap data already found and encrypted with different token" in refused.text()
    assert "level=fatal" in refused.text()


def test_secrets_encryption_config_is_written_only_when_the_cluster_is_created(cluster):
    encryption = "server/cred/encryption-config.json"
    server = cluster.start("s1", "server", 2, "token: pw\nsecrets-encryption: true\n")
    written = server.root / DATA / encryption
    assert json.loads(written.read_text())["kind"] == "EncryptionConfiguration"
    assert written.stat().st_mode & 0o777 == 0o600
    server.stop()
    again = cluster.start("s1", "server", 2, "token: pw\nsecrets-encryption: true\n")
    assert (again.root / DATA / encryption).read_text() == written.read_text()
    again.stop()
    plain = cluster.start("s2", "server", 3, "token: pw\n")
    plain.stop()
    later = cluster.start("s2", "server", 3, "token: pw\nsecrets-encryption: true\n")
    assert not (later.root / DATA / encryption).exists()
    assert "created without it" in later.text()


def test_server_join_checks_password_and_ca_hash(cluster):
    first = cluster.start("s1", "server", 2, "token: right\ncluster-init: true\n")
    url = f"https://{first.address}:6443"
    wrong_pw = cluster.start(
        "s2", "server", 3, f"token: wrong\nserver: {url}\n", expect_ready=False
    )
    assert wrong_pw.popen.wait(timeout=10) == 1
    assert re.search(
        r'level=fatal msg=".*failed to bootstrap cluster data: '
        r'https://[0-9.]+:6443/v1-k3s/server-bootstrap: 401 Unauthorized"',
        wrong_pw.text(),
    ), wrong_pw.text()
    assert "invalid username/password combination" in first.text()

    bad_hash = "K10" + "0" * 64 + "::server:right"
    wrong_ca = cluster.start(
        "s3", "server", 4, f"token: {bad_hash}\nserver: {url}\n", expect_ready=False
    )
    assert wrong_ca.popen.wait(timeout=10) == 1
    assert (
        "failed to validate token: token CA hash does not match the Cluster CA certificate"
        in wrong_ca.text()
    )

    token = (first.root / DATA / "server/token").read_text()
    joined = cluster.start(
        "s4", "server", 5, f"token: {token.strip()}\nserver: {url}\ncluster-init: false\n"
    )
    assert (joined.root / DATA / "server/token").read_text() == token
    nodes = cluster.nodes(joined)  # the joined server proxies the API to the datastore
    assert sorted(nodes) == ["s1", "s4"]
    assert nodes["s4"]["metadata"]["labels"]["node-role.kubernetes.io/etcd"] == "true"
    assert all(ready(node) == "True" for node in nodes.values())


def test_server_cannot_join_a_server_without_embedded_etcd(cluster):
    first = cluster.start("s1", "server", 2, "token: right\n")
    joiner = cluster.start(
        "s2",
        "server",
        3,
        f"token: right\nserver: https://{first.address}:6443\n",
        expect_ready=False,
    )
    assert joiner.popen.wait(timeout=10) == 1
    assert "server-bootstrap: 400 Bad Request" in joiner.text()
    assert "embedded etcd is not enabled" in first.text()
    assert "node-role.kubernetes.io/etcd" not in cluster.nodes(first)["s1"]["metadata"]["labels"]


def test_agent_joins_and_both_nodes_are_ready_with_their_versions(cluster):
    server = cluster.start("s1", "server", 2, "token: pw\n")
    agent = cluster.start(
        "a1",
        "agent",
        3,
        f"token: pw\nserver: https://{server.address}:6443\nnode-ip: {cluster.address(3)}\n",
        version=UPGRADE,
    )
    nodes = cluster.nodes(server)
    assert sorted(nodes) == ["a1", "s1"]
    assert [ready(nodes[n]) for n in ("a1", "s1")] == ["True", "True"]
    assert nodes["s1"]["status"]["nodeInfo"]["kubeletVersion"] == VERSION
    assert nodes["a1"]["status"]["nodeInfo"]["kubeletVersion"] == UPGRADE
    assert nodes["s1"]["metadata"]["labels"]["node-role.kubernetes.io/control-plane"] == "true"
    assert not any(k.startswith("node-role.") for k in nodes["a1"]["metadata"]["labels"])
    assert {"type": "InternalIP", "address": agent.address} in nodes["a1"]["status"]["addresses"]
    table = cluster.run(server, "kubectl", "get", "nodes").stdout.splitlines()
    assert table[0].split() == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert table[1].split()[:3] == ["a1", "Ready", "<none>"]
    assert table[2].split()[:3] == ["s1", "Ready", "control-plane,master"]
    single = json.loads(cluster.run(server, "kubectl", "get", "node", "a1", "-o", "json").stdout)
    assert single["kind"] == "Node" and single["metadata"]["name"] == "a1"


def test_agent_with_a_wrong_token_keeps_retrying_and_never_registers(cluster):
    server = cluster.start("s1", "server", 2, "token: pw\n")
    agent = cluster.start(
        "a1",
        "agent",
        3,
        f"token: nope\nserver: https://{server.address}:6443\n",
        expect_ready=False,
    )
    assert agent.popen.poll() is None  # as real agents: Type=exec stays active, node never joins
    assert "v1-k3s/config: 401 Unauthorized" in agent.text()
    assert sorted(cluster.nodes(server)) == ["s1"]


def test_stopped_heartbeat_turns_node_not_ready_and_datastore_restart_keeps_nodes(cluster):
    server = cluster.start("s1", "server", 2, "token: pw\n")
    agent = cluster.start("a1", "agent", 3, f"token: pw\nserver: https://{server.address}:6443\n")
    assert ready(cluster.nodes(server)["a1"]) == "True"
    assert agent.stop() == 0
    time.sleep(2.0)
    node = cluster.nodes(server)["a1"]
    assert ready(node) == "Unknown"
    assert {t["key"] for t in node["spec"]["taints"]} == {"node.kubernetes.io/unreachable"}
    assert "a1     NotReady" in cluster.run(server, "kubectl", "get", "nodes").stdout
    assert ready(cluster.nodes(server)["s1"]) == "True"

    server.stop()
    server = cluster.start("s1", "server", 2, "token: pw\n")
    assert sorted(cluster.nodes(server)) == ["a1", "s1"]
    cluster.start("a1", "agent", 3, f"token: pw\nserver: https://{server.address}:6443\n")
    assert ready(cluster.nodes(server)["a1"]) == "True"


def test_drain_cordon_uncordon_and_delete(cluster):
    server = cluster.start("s1", "server", 2, "token: pw\n")
    cluster.start("a1", "agent", 3, f"token: pw\nserver: https://{server.address}:6443\n")
    drain = cluster.run(
        server,
        "kubectl",
        "drain",
        "a1",
        "--ignore-daemonsets",
        "--delete-emptydir-data",
        "--timeout=60s",
    )
    assert drain.returncode == 0, drain.stderr
    assert drain.stdout.splitlines() == ["node/a1 cordoned", "node/a1 drained"]
    node = cluster.nodes(server)["a1"]
    assert node["spec"]["unschedulable"] is True
    assert node["spec"]["taints"][0]["key"] == "node.kubernetes.io/unschedulable"
    assert "Ready,SchedulingDisabled" in cluster.run(server, "kubectl", "get", "nodes").stdout
    assert cluster.run(server, "kubectl", "cordon", "a1").stdout == "node/a1 already cordoned\n"
    assert cluster.run(server, "kubectl", "uncordon", "a1").stdout == "node/a1 uncordoned\n"
    assert "unschedulable" not in cluster.nodes(server)["a1"]["spec"]
    bad = cluster.run(server, "kubectl", "drain", "a1", "--bogus")
    assert bad.returncode == 1 and "unknown flag: --bogus" in bad.stderr
    missing = cluster.run(server, "kubectl", "cordon", "ghost")
    assert missing.returncode == 1
    assert missing.stderr.strip() == 'Error from server (NotFound): nodes "ghost" not found'
    unknown = cluster.run(server, "kubectl", "apply", "-f", "x.yaml")
    assert unknown.returncode == 1 and "does not model" in unknown.stderr
    deleted = cluster.run(server, "kubectl", "delete", "node", "s1")
    assert deleted.stdout == 'node "s1" deleted\n'


def test_kubectl_reads_kubeconfig_flag_and_env(cluster, tmp_path):
    server = cluster.start("s1", "server", 2, "token: pw\n")
    copy = tmp_path / "copied.yaml"
    shutil.copy(server.root / "etc/rancher/k3s/k3s.yaml", copy)
    elsewhere = tmp_path / "elsewhere"
    env = cluster.env(elsewhere, server.address)  # no kubeconfig under this root
    binary = str(cluster.binaries[VERSION])
    args = [binary, "kubectl", "get", "nodes", "-o", "name"]
    plain = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    assert plain.returncode == 1 and "error loading config file" in plain.stderr
    flag = subprocess.run(
        [*args, f"--kubeconfig={copy}"], env=env, capture_output=True, text=True, check=False
    )
    assert flag.stdout == "node/s1\n"
    viaenv = subprocess.run(
        args, env=dict(env, KUBECONFIG=str(copy)), capture_output=True, text=True, check=False
    )
    assert viaenv.stdout == "node/s1\n"
    link = tmp_path / "kubectl"
    link.symlink_to(binary)
    aslink = subprocess.run(
        [str(link), "get", "nodes", "-o", "name", "--kubeconfig", str(copy)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert aslink.stdout == "node/s1\n"


def test_etcd_snapshot_names_and_non_etcd_refusal(cluster):
    server = cluster.start("s1", "server", 2, "token: pw\ncluster-init: true\n")
    before = int(time.time())
    save = cluster.run(server, "etcd-snapshot", "save", "--name", "pre-upgrade")
    after = int(time.time())
    assert save.returncode == 0, save.stderr
    files = list((server.root / DATA / "server/db/snapshots").iterdir())
    assert len(files) == 1
    match = re.fullmatch(r"pre-upgrade-s1-(\d+)", files[0].name)
    assert match and before <= int(match.group(1)) <= after
    assert f'level=info msg="Snapshot {files[0].name} saved."' in save.stderr
    listing = cluster.run(server, "etcd-snapshot", "ls").stdout.splitlines()
    assert listing[0].split() == ["Name", "Location", "Size", "Created"]
    assert listing[1].split()[:2] == [files[0].name, f"file://{files[0]}"]

    plain = cluster.start("s2", "server", 3, "token: pw\n")
    refused = cluster.run(plain, "etcd-snapshot", "save")
    assert refused.returncode == 1
    assert "level=fatal" in refused.stderr and "non-etcd" in refused.stderr
    assert not (plain.root / DATA / "server/db/snapshots").exists()


def docker_archive(directory: Path, tags: list[str]) -> Path:
    """A docker-archive laid out as `podman save` writes it, packed by the real tar program."""
    content = directory / "content"
    content.mkdir()
    (content / "layer.tar").write_bytes(b"\0" * 1024)
    (content / "config.json").write_text('{"architecture": "amd64", "os": "linux"}')
    manifest = [{"Config": "config.json", "RepoTags": tags, "Layers": ["layer.tar"]}]
    (content / "manifest.json").write_text(json.dumps(manifest))
    archive = directory / "images.tar"
    subprocess.run(["tar", "-C", str(content), "-cf", str(archive), "."], check=True)
    return archive


def test_ctr_import_reads_repo_tags_and_staged_archives(cluster, tmp_path):
    server = cluster.start("s1", "server", 2, "token: pw\n")
    archive = docker_archive(tmp_path, ["localhost/app:1.0", "busybox:1.36"])
    imported = cluster.run(server, "ctr", "-n", "k8s.io", "images", "import", str(archive))
    assert imported.returncode == 0, imported.stderr
    lines = imported.stdout.splitlines()
    assert [line.split()[1] for line in lines] == [
        "localhost/app:1.0",
        "docker.io/library/busybox:1.36",
    ]
    assert all(re.fullmatch(r"unpacking \S+ \(sha256:[0-9a-f]{64}\)\.\.\.done", ln) for ln in lines)
    listed = cluster.run(server, "ctr", "images", "ls", "-q").stdout.split()
    assert listed == ["docker.io/library/busybox:1.36", "localhost/app:1.0"]
    crictl = cluster.run(server, "crictl", "images").stdout.splitlines()
    assert crictl[0].split()[:2] == ["IMAGE", "TAG"] and len(crictl) == 3
    other_ns = cluster.run(server, "ctr", "-n", "default", "images", "ls", "-q")
    assert other_ns.stdout == ""
    not_tar = tmp_path / "junk.tar"
    not_tar.write_text("not an archive")
    assert cluster.run(server, "ctr", "images", "import", str(not_tar)).returncode == 1

    # Archives staged in agent/images/ are imported when the next node starts.
    staged = tmp_path / "a1" / DATA / "agent/images"
    staged.mkdir(parents=True)
    other = tmp_path / "other"
    other.mkdir()
    gz = docker_archive(other, ["quay.io/metallb/speaker:v0.12.1"])
    (staged / "extra.tar.gz").write_bytes(gzip.compress(gz.read_bytes()))
    if shutil.which("zstd"):
        zst = tmp_path / "zst"
        zst.mkdir()
        plain = docker_archive(zst, ["docker.io/rancher/mirrored-pause:3.6"])
        subprocess.run(
            ["zstd", "-q", str(plain), "-o", str(staged / "k3s-airgap-images-amd64.tar.zst")],
            check=True,
        )
    agent = cluster.start("a1", "agent", 3, f"token: pw\nserver: https://{server.address}:6443\n")
    refs = cluster.run(agent, "ctr", "images", "ls", "-q").stdout.split()
    assert "quay.io/metallb/speaker:v0.12.1" in refs
    if shutil.which("zstd"):
        assert "docker.io/rancher/mirrored-pause:3.6" in refs


def test_oci_archive_index_annotations(cluster, tmp_path):
    server = cluster.start("s1", "server", 2, "token: pw\n")
    archive = tmp_path / "oci.tar"
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": "sha256:" + "a" * 64,
                "size": 1,
                "annotations": {"org.opencontainers.image.ref.name": "localhost/web:2.0"},
            }
        ],
    }
    with tarfile.open(archive, "w") as tar:
        data = json.dumps(index).encode()
        info = tarfile.TarInfo("index.json")
        info.size = len(data)
        import io

        tar.addfile(info, io.BytesIO(data))
    result = cluster.run(server, "ctr", "images", "import", str(archive))
    assert result.returncode == 0, result.stderr
    assert "unpacking localhost/web:2.0 " in result.stdout


@pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("unshare"),
    reason="flannel.1 needs root and a private network namespace",
)
def test_flannel_vxlan_is_a_kernel_socket_without_process(tmp_path, binaries):
    holder = subprocess.Popen(["unshare", "-n", "sh", "-c", "ip link set lo up && exec sleep 120"])
    try:
        time.sleep(0.3)
        enter = ["nsenter", "-t", str(holder.pid), "-n"]
        cluster = Cluster(tmp_path, binaries)
        cluster.netdev = True
        server = cluster.start(
            "s1", "server", 2, "token: pw\nnode-ip: 127.0.0.1\ncluster-init: true\n", wrap=enter
        )

        def ns(*cmd):
            return subprocess.run([*enter, *cmd], capture_output=True, text=True, check=True).stdout

        udp = [ln for ln in ns("ss", "-Hulnp").splitlines() if re.search(r":8472\b", ln)]
        assert udp and all("users:" not in ln for ln in udp), ns("ss", "-Hulnp")
        tcp = ns("ss", "-Htlnp")
        for port in (6443, 10250, 2379, 2380):
            assert re.search(rf":{port}\b.*users:", tcp), tcp
        link = ns("ip", "-d", "link", "show", "flannel.1")
        assert "vxlan id 1" in link and "dstport 8472" in link
        assert "bridge" in ns("ip", "-d", "link", "show", "cni0")
        assert server.stop() == 0
        assert "flannel.1" in ns("ip", "link", "show")  # nothing removed on stop
        assert "cni0" in ns("ip", "link", "show")
        cluster.close()
    finally:
        holder.kill()
        holder.wait()
