#!/usr/bin/env python3
"""K3s TEST DOUBLE for the Molecule scenarios. This is NOT K3s and runs no cluster.

No k3s binary can be obtained on the build machines, so molecule/shared/prepare.yml writes this
one-file Python 3.11 program into the offline kit as `k3s`, with the kit's version baked in
(VERSION below). The roles install it exactly like the release binary (sha256-verified, to
/usr/local/bin/k3s) and start it through their real systemd units.

What it proves (it keeps K3s's paths, file formats, log style and failure behaviour):
- the unit works: `k3s server` notifies READY=1 on $NOTIFY_SOCKET (Type=notify) only after its
  listeners, token files, kubeconfig and flannel devices exist; `k3s agent` runs under Type=exec;
  SIGTERM stops it cleanly (KillMode=process) and nothing is removed on stop;
- config: /etc/rancher/k3s/config.yaml plus config.yaml.d/*.yaml (later files win, `key+:`
  appends), K3S_TOKEN/K3S_TOKEN_FILE/K3S_URL, and `--flag value` on the command line;
- the token file format: server/token and server/node-token hold `K10<sha256 of the CA file>::
  server:<password>`; a restart keeps them; a different token on a datastore that already has one
  is refused ("bootstrap data already found and encrypted with different token");
- join authentication: the joining side fetches /cacerts, checks the CA hash of a K10 token
  ("token CA hash does not match the Cluster CA certificate hash"), then authenticates with the
  password. A joining server that is refused logs `level=fatal` and exits 1 (so a Type=notify start
  fails); joining a server that runs without embedded etcd is refused as K3s refuses it
  (server-bootstrap answers 400 "etcd disabled"). An agent that is refused keeps retrying and
  logging, as the real agent does (its Type=exec unit stays active, the node never appears);
- the order of HA joins (a server can only join a running cluster-init/etcd server);
- secrets-encryption: server/cred/encryption-config.json is written when a cluster is created
  (or a server joins) with it, never added to a cluster created without it (no real encryption);
- node reporting: every node heartbeats (name, role, node-ip, version) to the first server (the
  "datastore", persisted under server/db/); other servers proxy API calls to it. A node is Ready
  while its heartbeat is fresh, Ready=Unknown (kubectl: NotReady) after the grace period, exactly
  the condition a stopped kubelet leaves behind. kubeletVersion is the node's binary version, so
  an upgrade shows up node by node;
- ports as `ss` sees them: 6443 (the API; plain HTTP), 10250, and 2379/2380 with etcd; the
  flannel VXLAN device flannel.1 (`ip link add ... type vxlan id 1 dstport 8472`) whose UDP socket
  is a kernel socket with no owning process, and the cni0 bridge;
- `k3s kubectl` (get/cordon/uncordon/drain/delete node, wait for Ready), `k3s etcd-snapshot`,
  `k3s ctr images import/ls` and `k3s crictl images` with kubectl's and K3s's output lines.

What it cannot prove: no container or pod runs (no containerd, no kubelet, drain evicts
nothing); no real etcd or raft (the node list lives in one JSON file on the first server, so
quorum loss and etcd member management are not modelled); no TLS and no authentication on the
Kubernetes API (plain HTTP; the CA and client certificates are random PEM-shaped bytes, not
X.509); no CNI traffic crosses flannel.1; no add-ons (coredns, traefik, local-storage); no
critical-config comparison between servers; the `go version` line is a plausible value, not the
release's. Image archives compressed with zstd are read only when a `zstd` program exists;
otherwise the file is recorded as staged but its images are not listed.

Test hooks (never set by the roles): K3S_DOUBLE_ROOT prefixes every absolute path (/etc/rancher,
/var/lib/rancher, /run); K3S_DOUBLE_BIND_ADDRESS binds the listeners to one address instead of
all (and the kubeconfig then points at it); K3S_DOUBLE_NETDEV=0 skips flannel.1/cni0;
K3S_DOUBLE_HEARTBEAT and K3S_DOUBLE_NODE_GRACE (seconds) shorten the heartbeat and the Ready
grace period (defaults 2 and 10).
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import hashlib
import http.server
import io
import json
import os
import re
import secrets
import shutil
import signal
import socket
import socketserver
import subprocess
import sys
import tarfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

VERSION = "__K3S_DOUBLE_VERSION__"
GO_VERSION = "go1.24.6"
PROGRAM = "k3s"

ROOT = os.environ.get("K3S_DOUBLE_ROOT", "")
BIND = os.environ.get("K3S_DOUBLE_BIND_ADDRESS", "")
HEARTBEAT = float(os.environ.get("K3S_DOUBLE_HEARTBEAT", "2"))
GRACE = float(os.environ.get("K3S_DOUBLE_NODE_GRACE", "10"))
NETDEV = os.environ.get("K3S_DOUBLE_NETDEV", "1") != "0"

CONFIG_FILE = "/etc/rancher/k3s/config.yaml"
KUBECONFIG = "/etc/rancher/k3s/k3s.yaml"
DATA_DIR = "/var/lib/rancher/k3s"
BOOL_FLAGS = {
    "cluster-init",
    "selinux",
    "debug",
    "with-node-id",
    "disable-network-policy",
    "disable-kube-proxy",
    "disable-cloud-controller",
    "disable-helm-controller",
    "protect-kernel-defaults",
    "write-kubeconfig-group",
    "secrets-encryption",
}


class Fatal(Exception):
    """Ends the program with K3s's `level=fatal` line and exit code 1."""


def rooted(path: str | Path) -> Path:
    return Path(ROOT + str(path)) if ROOT and str(path).startswith("/") else Path(path)


def log(level: str, msg: str) -> None:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    escaped = msg.replace("\\", "\\\\").replace('"', '\\"')
    sys.stderr.write(f'time="{stamp}" level={level} msg="{escaped}"\n')
    sys.stderr.flush()


def commit() -> str:
    return hashlib.sha256(VERSION.encode()).hexdigest()[:8]


def write_private(path: Path, content: str | bytes, mode: int = 0o600) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    data = content.encode() if isinstance(content, str) else content
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


# ---------------------------------------------------------------- configuration


def _scalar(raw: str, where: str):
    value = raw.strip()
    if value[:1] in "'\"":
        if len(value) < 2 or value[-1] != value[0]:
            raise Fatal(f"{where}: unterminated quoted string {value}")
        return value[1:-1]
    value = re.sub(r"\s+#.*$", "", value)
    if value.startswith("[") and value.endswith("]"):
        inner = value[1:-1].strip()
        return [_scalar(item, where) for item in inner.split(",")] if inner else []
    if value in ("true", "True"):
        return True
    if value in ("false", "False"):
        return False
    if re.fullmatch(r"-?\d+", value):
        return int(value)
    if value.startswith(("{", "&", "*", "|", ">")):
        raise Fatal(f"{where}: the K3s config only takes flag values: {value!r} is not supported")
    return value


def parse_config_text(text: str, source: str) -> dict:
    """The YAML that K3s config files use: flat `flag: value` keys and lists of scalars."""
    result: dict = {}
    current_list: list | None = None
    for number, line in enumerate(text.splitlines(), 1):
        where = f"{source}:{number}"
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or stripped == "---":
            continue
        if stripped.startswith("- "):
            if current_list is None:
                raise Fatal(f"{where}: list item without a key")
            current_list.append(_scalar(stripped[2:], where))
            continue
        if line[0].isspace():
            raise Fatal(f"{where}: nested keys are not K3s config flags: {stripped!r}")
        match = re.fullmatch(r"([A-Za-z0-9_.+-]+)\s*:(?:\s+(.*))?", stripped)
        if not match:
            raise Fatal(f"{where}: expected `flag: value`, got {stripped!r}")
        key, raw = match.group(1), match.group(2)
        if raw is None or raw.strip() == "" or raw.strip().startswith("#"):
            current_list = []
            result[key] = current_list
        else:
            current_list = None
            result[key] = _scalar(raw, where)
    return result


def merge_config(base: dict, extra: dict) -> dict:
    for key, value in extra.items():
        if key.endswith("+"):
            name = key[:-1]
            old = base.get(name, [])
            old = old if isinstance(old, list) else [old]
            base[name] = old + (value if isinstance(value, list) else [value])
        else:
            base[key] = value
    return base


def parse_flags(args: list[str]) -> dict:
    flags: dict = {}
    index = 0
    while index < len(args):
        arg = args[index]
        if not arg.startswith("-"):
            raise Fatal(f"unexpected argument {arg!r}")
        name = arg.lstrip("-")
        if "=" in name:
            name, value = name.split("=", 1)
        elif name in BOOL_FLAGS:
            value = True
        else:
            if index + 1 >= len(args):
                raise Fatal(f"flag needs an argument: --{name}")
            index += 1
            value = args[index]
        name = {"c": "config", "t": "token"}.get(name, name)
        if name in flags and name not in ("config",):
            old = flags[name] if isinstance(flags[name], list) else [flags[name]]
            flags[name] = [*old, value]
        else:
            flags[name] = value
        index += 1
    return flags


def load_config(args: list[str]) -> dict:
    flags = parse_flags(args)
    path = Path(str(flags.pop("config", os.environ.get("K3S_CONFIG_FILE", CONFIG_FILE))))
    config: dict = {}
    file = rooted(path)
    if file.exists():
        config = parse_config_text(file.read_text(), str(path))
    dropins = rooted(str(path) + ".d")
    if dropins.is_dir():
        for extra in sorted(dropins.glob("*.yaml")) + sorted(dropins.glob("*.yml")):
            merge_config(config, parse_config_text(extra.read_text(), str(extra)))
    for env, key in (
        ("K3S_TOKEN", "token"),
        ("K3S_TOKEN_FILE", "token-file"),
        ("K3S_URL", "server"),
        ("K3S_NODE_NAME", "node-name"),
        ("K3S_DATA_DIR", "data-dir"),
    ):
        if os.environ.get(env):
            config.setdefault(key, os.environ[env])
    config.update(flags)
    return config


def config_token(config: dict) -> str:
    if config.get("token"):
        return str(config["token"]).strip()
    if config.get("token-file"):
        file = rooted(str(config["token-file"]))
        try:
            return file.read_text().strip()
        except OSError as exc:
            raise Fatal(f"Error: failed to read token file {config['token-file']}: {exc}") from exc
    return ""


def split_token(token: str) -> tuple[str, str]:
    """(CA hash, password) of a bare password or a K10<hash>::<user>:<password> token."""
    if not token.startswith("K10"):
        return "", token
    rest = token[3:]
    if "::" not in rest:
        raise Fatal("Error: invalid token format")
    ca_hash, creds = rest.split("::", 1)
    if ca_hash and len(ca_hash) != 64:
        raise Fatal("Error: invalid token CA hash length")
    if ":" not in creds or not creds.split(":", 1)[1]:
        raise Fatal("Error: invalid token format")
    return ca_hash, creds.split(":", 1)[1]


def node_name(config: dict) -> str:
    return str(config.get("node-name") or socket.gethostname().split(".")[0])


def default_node_ip() -> str:
    try:
        out = subprocess.run(
            ["ip", "-4", "route", "get", "1.1.1.1"], capture_output=True, text=True, check=False
        ).stdout
        match = re.search(r"\bsrc (\S+)", out)
        if match:
            return match.group(1)
    except OSError:
        pass
    return "127.0.0.1"


def http_url(url: str) -> str:
    """The double speaks plain HTTP where K3s speaks HTTPS (TLS is not modelled)."""
    return re.sub(r"^https://", "http://", url.rstrip("/"))


def fake_pem(kind: str) -> bytes:
    body = base64.encodebytes(secrets.token_bytes(96)).decode()
    return f"-----BEGIN {kind}-----\n{body}-----END {kind}-----\n".encode()


# ---------------------------------------------------------------- HTTP client helpers


def request(method: str, url: str, body=None, auth: tuple[str, str] | None = None, timeout=5):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if auth:
        creds = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        req.add_header("Authorization", f"Basic {creds}")
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return resp.status, resp.read()


def describe_http_error(url: str, exc: Exception) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"{url}: {exc.code} {exc.reason}"
    reason = getattr(exc, "reason", exc)
    return f'Get "{url}": {reason}'


# ---------------------------------------------------------------- datastore (first server)


class Datastore:
    """The cluster's node list, kept on the first server and persisted under server/db/."""

    def __init__(self, file: Path, cluster_cidr: str):
        self.file = file
        self.lock = threading.Lock()
        self.cluster_cidr = cluster_cidr
        self.nodes: dict = {}
        if file.exists():
            self.nodes = json.loads(file.read_text()).get("nodes", {})

    def _save(self) -> None:
        write_private(self.file, json.dumps({"nodes": self.nodes}, indent=1, sort_keys=True))

    def _pod_cidr(self) -> str:
        used = {rec.get("podCIDR") for rec in self.nodes.values()}
        net = self.cluster_cidr.split("/")[0].split(".")
        for index in range(256):
            candidate = f"{net[0]}.{net[1]}.{index}.0/24"
            if candidate not in used:
                return candidate
        raise Fatal(f"no free pod range left in {self.cluster_cidr}")

    def heartbeat(self, info: dict) -> dict:
        with self.lock:
            now = time.time()
            rec = self.nodes.get(info["name"])
            if rec is None:
                rec = {
                    "name": info["name"],
                    "created": now,
                    "uid": secrets.token_hex(16),
                    "unschedulable": False,
                    "podCIDR": self._pod_cidr(),
                }
                self.nodes[info["name"]] = rec
                log("info", f"Node {info['name']} registered ({info['role']}, {info['ip']})")
            rec.update(
                role=info["role"],
                etcd=bool(info.get("etcd")),
                ip=info["ip"],
                version=info["version"],
                heartbeat=now,
            )
            self._save()
            return {"podCIDR": rec["podCIDR"]}

    def get(self, name: str) -> dict | None:
        with self.lock:
            rec = self.nodes.get(name)
            return dict(rec) if rec else None

    def all(self) -> list[dict]:
        with self.lock:
            return [dict(rec) for _, rec in sorted(self.nodes.items())]

    def set_unschedulable(self, name: str, value: bool) -> dict | None:
        with self.lock:
            rec = self.nodes.get(name)
            if rec is None:
                return None
            rec["unschedulable"] = value
            rec["unschedulable_since"] = time.time()
            self._save()
            return dict(rec)

    def delete(self, name: str) -> bool:
        with self.lock:
            if self.nodes.pop(name, None) is None:
                return False
            self._save()
            return True


def rfc3339(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def os_image() -> str:
    try:
        text = Path("/etc/os-release").read_text()
        match = re.search(r'^PRETTY_NAME="?([^"\n]*)"?', text, re.M)
        return match.group(1) if match else "Linux"
    except OSError:
        return "Linux"


def node_object(rec: dict, now: float) -> dict:
    fresh = now - rec.get("heartbeat", 0) < GRACE
    labels = {
        "beta.kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/instance-type": "k3s",
        "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": rec["name"],
        "kubernetes.io/os": "linux",
        "node.kubernetes.io/instance-type": "k3s",
    }
    if rec.get("role") == "server":
        labels["node-role.kubernetes.io/control-plane"] = "true"
        labels["node-role.kubernetes.io/master"] = "true"
        if rec.get("etcd"):
            labels["node-role.kubernetes.io/etcd"] = "true"
    spec: dict = {
        "podCIDR": rec.get("podCIDR"),
        "podCIDRs": [rec.get("podCIDR")],
        "providerID": f"k3s://{rec['name']}",
    }
    taints = []
    if rec.get("unschedulable"):
        spec["unschedulable"] = True
        taints.append(
            {
                "effect": "NoSchedule",
                "key": "node.kubernetes.io/unschedulable",
                "timeAdded": rfc3339(rec.get("unschedulable_since", now)),
            }
        )
    if not fresh:
        for effect in ("NoSchedule", "NoExecute"):
            taints.append({"effect": effect, "key": "node.kubernetes.io/unreachable"})
    if taints:
        spec["taints"] = taints
    heartbeat = rfc3339(rec.get("heartbeat", now))
    ready = {
        "type": "Ready",
        "status": "True" if fresh else "Unknown",
        "reason": "KubeletReady" if fresh else "NodeStatusUnknown",
        "message": "kubelet is posting ready status"
        if fresh
        else "Kubelet stopped posting node status.",
        "lastHeartbeatTime": heartbeat,
        "lastTransitionTime": heartbeat,
    }
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": rec["name"],
            "uid": rec.get("uid", ""),
            "creationTimestamp": rfc3339(rec.get("created", now)),
            "labels": labels,
            "annotations": {"k3s.io/node-args": json.dumps([PROGRAM, rec.get("role", "")])},
        },
        "spec": spec,
        "status": {
            "addresses": [
                {"type": "InternalIP", "address": rec.get("ip", "")},
                {"type": "Hostname", "address": rec["name"]},
            ],
            "conditions": [ready],
            "nodeInfo": {
                "architecture": "amd64",
                "containerRuntimeVersion": "containerd://not-modelled-by-the-k3s-double",
                "kernelVersion": os.uname().release,
                "kubeProxyVersion": rec.get("version", ""),
                "kubeletVersion": rec.get("version", ""),
                "operatingSystem": "linux",
                "osImage": os_image(),
            },
        },
    }


def not_found(name: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Status",
        "metadata": {},
        "status": "Failure",
        "message": f'nodes "{name}" not found',
        "reason": "NotFound",
        "details": {"name": name, "kind": "nodes"},
        "code": 404,
    }


# ---------------------------------------------------------------- the node daemon


class Node:
    def __init__(self, role: str, config: dict):
        self.role = role
        self.config = config
        self.data_dir = rooted(str(config.get("data-dir", DATA_DIR)))
        self.name = node_name(config)
        self.ip = str(config.get("node-ip") or BIND or default_node_ip()).split(",")[0]
        self.port = int(config.get("https-listen-port", 6443))
        self.join_url = str(config.get("server", "") or "")
        self.stop = threading.Event()
        self.servers: list[socketserver.BaseServer] = []
        self.datastore: Datastore | None = None
        self.datastore_url = ""  # empty: this server is the datastore
        self.etcd = False
        self.password = ""
        self.ca = b""
        self.auth: tuple[str, str] | None = None
        self.pod_cidr = ""

    # -- start-up steps
    def write_encryption_config(self, creating: bool) -> None:
        """K3s with secrets-encryption writes server/cred/encryption-config.json when it creates
        the cluster (or a server joins one); it never adds it to a cluster made without it."""
        path = self.data_dir / "server" / "cred" / "encryption-config.json"
        wanted = self.config.get("secrets-encryption") in (True, "true")
        if wanted and not path.exists() and (creating or self.join_url):
            key = base64.b64encode(secrets.token_bytes(32)).decode()
            config = {
                "kind": "EncryptionConfiguration",
                "apiVersion": "apiserver.config.k8s.io/v1",
                "resources": [
                    {
                        "resources": ["secrets"],
                        "providers": [
                            {"aescbc": {"keys": [{"name": "aescbckey", "secret": key}]}},
                            {"identity": {}},
                        ],
                    }
                ],
            }
            write_private(path, json.dumps(config))
        elif wanted and not path.exists():
            log("warning", "secrets-encryption is set but this cluster was created without it")

    def start_server(self) -> None:
        tls = self.data_dir / "server" / "tls"
        db = self.data_dir / "server" / "db"
        ca_file = tls / "server-ca.crt"
        token = config_token(self.config)
        cluster_init = self.config.get("cluster-init") in (True, "true")
        joined_marker = db / "double-datastore-url"
        if self.join_url and not joined_marker.exists():
            if not token:
                raise Fatal(
                    "Error: preparing server: failed to bootstrap cluster data: "
                    "K3S_TOKEN is required to join a cluster"
                )
            self.ca, bootstrap = self.join_as_server(token)
            write_private(ca_file, self.ca, 0o644)
            self.datastore_url = bootstrap.get("datastore") or http_url(self.join_url)
            write_private(joined_marker, self.datastore_url)
            (db / "etcd").mkdir(parents=True, exist_ok=True)
            self.etcd = True
            log("info", "Managed etcd cluster membership added (double: no real etcd member)")
        elif joined_marker.exists():
            self.datastore_url = joined_marker.read_text().strip()
            self.ca = ca_file.read_bytes()
            self.etcd = True
            log("info", "Managed etcd cluster bootstrap already complete and initialized")
        else:
            if not ca_file.exists():
                write_private(ca_file, fake_pem("CERTIFICATE"), 0o644)
                write_private(tls / "server-ca.key", fake_pem("EC PRIVATE KEY"))
                write_private(tls / "client-admin.crt", fake_pem("CERTIFICATE"), 0o644)
                write_private(tls / "client-admin.key", fake_pem("EC PRIVATE KEY"))
            self.ca = ca_file.read_bytes()
            self.etcd = cluster_init or (db / "etcd").is_dir()
            if self.etcd:
                (db / "etcd").mkdir(parents=True, exist_ok=True)
                log("info", "Managed etcd cluster initializing (double: no real etcd)")
            else:
                log("info", "Configuring sqlite3 database connection pooling (double: JSON file)")
            self.datastore = Datastore(
                db / "double-nodes.json", str(self.config.get("cluster-cidr", "10.42.0.0/16"))
            )
        ca_hash = hashlib.sha256(self.ca).hexdigest()
        token_file = self.data_dir / "server" / "token"
        if token:
            token_hash, password = split_token(token)
            if token_hash and token_hash != ca_hash and not self.join_url:
                raise Fatal(
                    "Error: preparing server: failed to bootstrap cluster data: token CA hash "
                    f"does not match the Cluster CA certificate hash: {token_hash} != {ca_hash}"
                )
        elif token_file.exists():
            password = split_token(token_file.read_text().strip())[1]
        else:
            password = secrets.token_hex(16)
        if token_file.exists() and split_token(token_file.read_text().strip())[1] != password:
            raise Fatal(
                "Error: preparing server: failed to bootstrap cluster data: failed to reconcile "
                "with local datastore: bootstrap data already found and encrypted with "
                "different token"
            )
        self.password = password
        self.auth = ("server", password)
        self.write_encryption_config(creating=not token_file.exists())
        full = f"K10{ca_hash}::server:{password}\n"
        write_private(token_file, full)
        write_private(self.data_dir / "server" / "node-token", full)
        self.listen(self.port, ApiHandler)
        self.listen(10250, PlainHandler)
        if self.etcd:
            self.listen(2379, PlainHandler)
            self.listen(2380, PlainHandler)
        self.write_kubeconfig()
        log("info", "Kube API server is now running")

    def join_as_server(self, token: str) -> tuple[bytes, dict]:
        base = http_url(self.join_url)
        prefix = "Error: preparing server: failed to bootstrap cluster data: "
        token_hash, password = split_token(token)
        try:
            _, ca = request("GET", f"{base}/cacerts")
        except (urllib.error.URLError, OSError) as exc:
            raise Fatal(
                f"{prefix}failed to check if bootstrap data has been initialized: failed to "
                "validate token: failed to get CA certs: "
                + describe_http_error(base + "/cacerts", exc)
            ) from exc
        server_hash = hashlib.sha256(ca).hexdigest()
        if token_hash and token_hash != server_hash:
            raise Fatal(
                f"{prefix}failed to check if bootstrap data has been initialized: failed to "
                "validate token: token CA hash does not match the Cluster CA certificate hash: "
                f"{token_hash} != {server_hash}"
            )
        url = f"{base}/v1-{PROGRAM}/server-bootstrap"
        try:
            _, body = request("GET", url, auth=("server", password))
        except (urllib.error.URLError, OSError) as exc:
            shown = url.replace("http://", "https://")
            raise Fatal(f"{prefix}{describe_http_error(shown, exc)}") from exc
        return ca, json.loads(body)

    def start_agent(self) -> None:
        if not self.join_url:
            raise Fatal("Error: --server is required")
        token = config_token(self.config)
        if not token:
            raise Fatal("Error: --token is required")
        token_hash, password = split_token(token)
        base = http_url(self.join_url)
        while not self.stop.is_set():
            try:
                _, ca = request("GET", f"{base}/cacerts")
            except (urllib.error.URLError, OSError) as exc:
                log(
                    "error",
                    f"Failed to validate connection to cluster at {self.join_url}: failed to get "
                    f"CA certs: {describe_http_error(self.join_url + '/cacerts', exc)}",
                )
                self.stop.wait(2)
                continue
            server_hash = hashlib.sha256(ca).hexdigest()
            if token_hash and token_hash != server_hash:
                log(
                    "error",
                    f"Failed to validate connection to cluster at {self.join_url}: token CA hash "
                    "does not match the Cluster CA certificate hash: "
                    f"{token_hash} != {server_hash}",
                )
                self.stop.wait(2)
                continue
            url = f"{base}/v1-{PROGRAM}/config"
            try:
                request("GET", url, auth=("node", password))
            except (urllib.error.URLError, OSError) as exc:
                shown = url.replace("http://", "https://")
                log(
                    "info",
                    "Waiting to retrieve agent configuration; server is not ready: failed to "
                    f"retrieve configuration from server: {describe_http_error(shown, exc)}",
                )
                self.stop.wait(5)
                continue
            self.ca = ca
            self.auth = ("node", password)
            write_private(self.data_dir / "agent" / "server-ca.crt", ca, 0o644)
            break
        if self.stop.is_set():
            return
        self.datastore_url = base
        self.listen(10250, PlainHandler)

    def listen(self, port: int, handler) -> None:
        address = BIND or "0.0.0.0"
        try:
            server = ThreadingServer((address, port), handler)
        except OSError as exc:
            raise Fatal(f"listen tcp {address}:{port}: bind: {exc.strerror.lower()}") from exc
        server.node = self
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.servers.append(server)

    def write_kubeconfig(self) -> None:
        mode_raw = str(self.config.get("write-kubeconfig-mode", "0600"))
        try:
            mode = int(mode_raw, 8)
        except ValueError as exc:
            raise Fatal(f"Error: invalid write-kubeconfig-mode {mode_raw!r}") from exc
        tls = self.data_dir / "server" / "tls"

        def b64(file: str) -> str:
            path = tls / file
            if not path.exists():
                write_private(path, fake_pem("CERTIFICATE" if file.endswith("crt") else "KEY"))
            return base64.b64encode(path.read_bytes()).decode()

        host = BIND or "127.0.0.1"
        text = (
            "apiVersion: v1\n"
            "clusters:\n"
            "- cluster:\n"
            f"    certificate-authority-data: {b64('server-ca.crt')}\n"
            f"    server: https://{host}:{self.port}\n"
            "  name: default\n"
            "contexts:\n"
            "- context:\n"
            "    cluster: default\n"
            "    user: default\n"
            "  name: default\n"
            "current-context: default\n"
            "kind: Config\n"
            "preferences: {}\n"
            "users:\n"
            "- name: default\n"
            "  user:\n"
            f"    client-certificate-data: {b64('client-admin.crt')}\n"
            f"    client-key-data: {b64('client-admin.key')}\n"
        )
        target = rooted(str(self.config.get("write-kubeconfig", KUBECONFIG)))
        write_private(target, text, mode)
        log("info", f"Wrote kubeconfig {target}")

    def heartbeat_once(self) -> bool:
        info = {
            "name": self.name,
            "role": self.role,
            "etcd": self.etcd,
            "ip": self.ip,
            "version": VERSION,
        }
        if self.datastore is not None:
            self.pod_cidr = self.datastore.heartbeat(info)["podCIDR"]
            return True
        url = f"{self.datastore_url}/v1-{PROGRAM}/double/heartbeat"
        try:
            _, body = request("POST", url, info, auth=self.auth)
        except (urllib.error.URLError, OSError) as exc:
            log("warning", f"Failed to post node status: {describe_http_error(url, exc)}")
            return False
        self.pod_cidr = json.loads(body)["podCIDR"]
        return True

    def heartbeat_loop(self) -> None:
        while not self.stop.wait(HEARTBEAT):
            self.heartbeat_once()

    def setup_netdev(self) -> None:
        if not NETDEV:
            log("info", "K3S_DOUBLE_NETDEV=0: flannel.1 and cni0 not created")
            return
        net = self.pod_cidr.split("/")[0].rsplit(".", 1)[0]

        def ip(*args: str) -> subprocess.CompletedProcess:
            return subprocess.run(["ip", *args], capture_output=True, text=True, check=False)

        if ip("link", "show", "flannel.1").returncode == 0:
            log("info", "Using existing flannel.1 VXLAN device")
        else:
            dev = ""
            for line in ip("-o", "-4", "addr", "show").stdout.splitlines():
                parts = line.split()
                if len(parts) > 3 and parts[3].split("/")[0] == self.ip:
                    dev = parts[1]
            cmd = ["link", "add", "flannel.1", "type", "vxlan", "id", "1"]
            cmd += ["local", self.ip] + (["dev", dev] if dev else [])
            cmd += ["dstport", "8472", "nolearning"]
            result = ip(*cmd)
            if result.returncode == 0:
                ip("addr", "add", f"{net}.0/32", "dev", "flannel.1")
                up = ip("link", "set", "flannel.1", "up")
                if up.returncode != 0:
                    raise Fatal(f"flannel exited: {up.stderr.strip()}")
                log("info", "Flannel found PodCIDR assigned for node: " + self.pod_cidr)
            else:
                log(
                    "warning",
                    f"VXLAN device refused by the kernel ({result.stderr.strip()}); double "
                    "falls back to a FOU port on 8472 (also a kernel socket with no process)",
                )
                fou = ip("fou", "add", "port", "8472", "ipproto", "4")
                if fou.returncode != 0 and "exists" not in fou.stderr.lower():
                    raise Fatal(f"flannel exited: {result.stderr.strip()}; {fou.stderr.strip()}")
        if ip("link", "show", "cni0").returncode != 0:
            ip("link", "add", "cni0", "type", "bridge")
            ip("addr", "add", f"{net}.1/24", "dev", "cni0")
            ip("link", "set", "cni0", "up")

    def run(self) -> int:
        log(
            "info",
            f"Starting {PROGRAM} {'agent ' if self.role == 'agent' else ''}{VERSION} ({commit()})",
        )
        signal.signal(signal.SIGTERM, lambda *_: self.stop.set())
        signal.signal(signal.SIGINT, lambda *_: self.stop.set())
        try:
            if self.role == "server":
                self.start_server()
            else:
                self.start_agent()
                if self.stop.is_set():
                    return 0
            while not self.heartbeat_once():
                if self.stop.wait(2):
                    return 0
            self.setup_netdev()
            import_staged_images(self.data_dir)
        except Fatal:
            self.shutdown()
            raise
        notify("READY=1")
        log("info", f"{PROGRAM} is up and running")
        threading.Thread(target=self.heartbeat_loop, daemon=True).start()
        self.stop.wait()
        log("info", "Received SIGTERM, shutting down (the double leaves flannel.1 and cni0)")
        self.shutdown()
        return 0

    def shutdown(self) -> None:
        self.stop.set()
        for server in self.servers:
            server.shutdown()
            server.server_close()


def notify(message: str) -> None:
    target = os.environ.get("NOTIFY_SOCKET")
    if not target:
        return
    address = "\0" + target[1:] if target.startswith("@") else target
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.connect(address)
        sock.sendall(message.encode())


class ThreadingServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    node: Node


class PlainHandler(http.server.BaseHTTPRequestHandler):
    """Kubelet/etcd ports: something listens there, nothing is served."""

    def do_GET(self) -> None:
        self.send_error(404, "the k3s double does not model this port")

    def log_message(self, *args) -> None:
        pass


class ApiHandler(http.server.BaseHTTPRequestHandler):
    server: ThreadingServer

    def log_message(self, *args) -> None:
        pass

    def _send(self, code: int, payload, content_type="application/json") -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _authorized(self, users: tuple[str, ...]) -> bool:
        node = self.server.node
        header = self.headers.get("Authorization", "")
        if header.startswith("Basic "):
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            if user in users and secrets.compare_digest(password, node.password):
                return True
        log(
            "error",
            f"Failed to authenticate request from {self.client_address[0]}:"
            f"{self.client_address[1]}: invalid username/password combination",
        )
        self._send(401, b"Unauthorized\n", "text/plain")
        return False

    def _body(self) -> dict:
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"{}")

    def _proxy(self) -> None:
        node = self.server.node
        length = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(length) if length else None
        req = urllib.request.Request(node.datastore_url + self.path, data=data, method=self.command)
        for name in ("Authorization", "Content-Type"):
            if self.headers.get(name):
                req.add_header(name, self.headers[name])
        try:
            with urllib.request.urlopen(req, timeout=5) as resp:
                self._send(resp.status, resp.read(), resp.headers.get("Content-Type"))
        except urllib.error.HTTPError as exc:
            self._send(exc.code, exc.read(), exc.headers.get("Content-Type"))
        except (urllib.error.URLError, OSError) as exc:
            self._send(503, {"kind": "Status", "code": 503, "message": f"datastore: {exc}"})

    def _dispatch(self) -> None:
        node = self.server.node
        path = self.path.split("?")[0]
        if path == "/cacerts":
            return self._send(200, node.ca, "text/plain")
        if path == "/ping":
            return self._send(200, b"pong", "text/plain")
        if path in ("/readyz", "/healthz", "/livez"):
            return self._send(200, b"ok", "text/plain")
        if path == f"/v1-{PROGRAM}/server-bootstrap":
            if not self._authorized(("server",)):
                return None
            if not node.etcd:
                log(
                    "warning",
                    f"Received HTTP bootstrap request from {self.client_address[0]}, but "
                    "embedded etcd is not enabled.",
                )
                return self._send(400, b"etcd disabled\n", "text/plain")
            return self._send(200, {"datastore": node.datastore_url or None})
        if path == f"/v1-{PROGRAM}/config":
            if not self._authorized(("server", "node")):
                return None
            keys = ("cluster-cidr", "service-cidr", "cluster-dns")
            return self._send(200, {key: node.config.get(key) for key in keys})
        if not (path.startswith("/api/") or path == f"/v1-{PROGRAM}/double/heartbeat"):
            return self._send(404, b"404 page not found\n", "text/plain")
        if node.datastore is None:
            return self._proxy()
        store = node.datastore
        if path == f"/v1-{PROGRAM}/double/heartbeat":
            if self._authorized(("server", "node")):
                self._send(200, store.heartbeat(self._body()))
            return None
        now = time.time()
        if path == "/api/v1/nodes" and self.command == "GET":
            items = [node_object(rec, now) for rec in store.all()]
            return self._send(
                200, {"apiVersion": "v1", "kind": "NodeList", "metadata": {}, "items": items}
            )
        match = re.fullmatch(r"/api/v1/nodes/([^/]+)", path)
        if not match:
            return self._send(404, b"404 page not found\n", "text/plain")
        name = match.group(1)
        if self.command == "GET":
            rec = store.get(name)
        elif self.command == "PATCH":
            spec = self._body().get("spec", {})
            rec = store.set_unschedulable(name, bool(spec.get("unschedulable")))
        elif self.command == "DELETE":
            if store.delete(name):
                return self._send(200, {"kind": "Status", "status": "Success", "code": 200})
            rec = None
        else:
            return self._send(405, b"method not allowed\n", "text/plain")
        if rec is None:
            return self._send(404, not_found(name))
        return self._send(200, node_object(rec, now))

    do_GET = do_POST = do_PATCH = do_DELETE = _dispatch


# ---------------------------------------------------------------- images (ctr / crictl)


def images_state(data_dir: Path) -> Path:
    return data_dir / "agent" / "containerd" / "double-images.json"


def normalize_ref(ref: str) -> str:
    first = ref.split("/")[0]
    if "/" not in ref:
        ref = f"docker.io/library/{ref}"
    elif "." not in first and ":" not in first and first != "localhost":
        ref = f"docker.io/{ref}"
    last = ref.rsplit("/", 1)[1]
    if ":" not in last and "@" not in last:
        ref += ":latest"
    return ref


def read_archive(path: Path) -> tuple[list[str], str, str]:
    """(image names, digest, note) of a docker-archive or oci-archive, plain/gz/zst."""
    with open(path, "rb") as handle:
        magic = handle.read(4)
    if magic == b"\x28\xb5\x2f\xfd":
        if not shutil.which("zstd"):
            return [], "", "zstd archive and no zstd program here: file recorded, not read"
        raw = subprocess.run(["zstd", "-dc", str(path)], capture_output=True, check=True).stdout
    elif magic[:2] == b"\x1f\x8b":
        raw = gzip.decompress(path.read_bytes())
    else:
        raw = path.read_bytes()
    try:
        archive = tarfile.open(fileobj=io.BytesIO(raw))  # noqa: SIM115 (in memory)
    except tarfile.TarError as exc:
        raise Fatal(f"ctr: failed to read {path}: not a tar archive ({exc})") from exc
    names = archive.getnames()
    names = {name.lstrip("./"): name for name in names}
    if "manifest.json" in names:
        data = archive.extractfile(names["manifest.json"]).read()
        refs = [tag for entry in json.loads(data) for tag in entry.get("RepoTags") or []]
    elif "index.json" in names:
        data = archive.extractfile(names["index.json"]).read()
        refs = []
        for entry in json.loads(data).get("manifests", []):
            notes = entry.get("annotations", {})
            ref = notes.get("io.containerd.image.name") or notes.get(
                "org.opencontainers.image.ref.name", ""
            )
            if "/" in ref or ":" in ref:
                refs.append(ref)
    else:
        raise Fatal(f"ctr: {path} has neither manifest.json nor index.json")
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    return [normalize_ref(ref) for ref in refs], digest, ""


def import_archive(data_dir: Path, path: Path, namespace: str, quiet=False) -> list[str]:
    refs, digest, note = read_archive(path)
    state_file = images_state(data_dir)
    state = json.loads(state_file.read_text()) if state_file.exists() else {}
    if note:
        state.setdefault("unread_archives", {})[str(path)] = note
        log("warning", f"{path}: {note}")
    images = state.setdefault(namespace, {})
    for ref in refs:
        images[ref] = {"digest": digest, "size": path.stat().st_size, "source": str(path)}
        if not quiet:
            print(f"unpacking {ref} ({digest})...done")
    write_private(state_file, json.dumps(state, indent=1, sort_keys=True))
    return refs


def import_staged_images(data_dir: Path) -> None:
    staged = data_dir / "agent" / "images"
    if not staged.is_dir():
        return
    for path in sorted(staged.iterdir()):
        if path.suffix == ".txt" or not path.is_file():
            continue
        log("info", f"Importing images from {path}")
        start = time.time()
        try:
            refs = import_archive(data_dir, path, "k8s.io", quiet=True)
        except (Fatal, OSError, subprocess.CalledProcessError) as exc:
            log("error", f"Failed to import {path}: {exc}")
            continue
        log("info", f"Imported images from {path} in {time.time() - start:.3f}s: {refs}")


def cmd_ctr(args: list[str]) -> int:
    namespace = os.environ.get("CONTAINERD_NAMESPACE", "k8s.io")
    rest = []
    index = 0
    while index < len(args):
        arg = args[index]
        if arg in ("-n", "--namespace"):
            namespace = args[index + 1]
            index += 2
            continue
        if arg.startswith(("-n=", "--namespace=")):
            namespace = arg.split("=", 1)[1]
        else:
            rest.append(arg)
        index += 1
    data_dir = rooted(DATA_DIR)
    if rest[:1] in (["images"], ["image"], ["i"]):
        sub = rest[1:]
        if sub[:1] == ["import"]:
            files = [arg for arg in sub[1:] if not arg.startswith("-")]
            if len(files) != 1:
                print("ctr: expected exactly one archive file to import", file=sys.stderr)
                return 1
            try:
                import_archive(data_dir, Path(files[0]), namespace)
            except (Fatal, OSError) as exc:
                print(f"ctr: {exc}", file=sys.stderr)
                return 1
            return 0
        if sub[:1] in (["ls"], ["list"]):
            state_file = images_state(data_dir)
            state = json.loads(state_file.read_text()) if state_file.exists() else {}
            images = state.get(namespace, {})
            if "-q" in sub or "--quiet" in sub:
                for ref in sorted(images):
                    print(ref)
                return 0
            print("REF TYPE DIGEST SIZE PLATFORMS LABELS")
            for ref, info in sorted(images.items()):
                print(
                    f"{ref} application/vnd.docker.distribution.manifest.v2+json "
                    f"{info['digest']} {info['size']} B linux/amd64 -"
                )
            return 0
    print(f"ctr: the k3s test double does not model `ctr {' '.join(rest)}`", file=sys.stderr)
    return 1


def cmd_crictl(args: list[str]) -> int:
    if args[:1] != ["images"]:
        print(
            f"crictl: the k3s test double does not model `crictl {' '.join(args)}`", file=sys.stderr
        )
        return 1
    state_file = images_state(rooted(DATA_DIR))
    images = json.loads(state_file.read_text()).get("k8s.io", {}) if state_file.exists() else {}
    quiet = "-q" in args
    if not quiet:
        print(f"{'IMAGE':<60} {'TAG':<24} {'IMAGE ID':<15} SIZE")
    for ref, info in sorted(images.items()):
        repo, _, tag = ref.rpartition(":")
        image_id = info["digest"].split(":")[1][:13]
        print(info["digest"] if quiet else f"{repo:<60} {tag:<24} {image_id:<15} {info['size']}B")
    return 0


# ---------------------------------------------------------------- kubectl


class KubectlError(Exception):
    pass


def kube_base(kubeconfig: str | None) -> str:
    path = kubeconfig or os.environ.get("KUBECONFIG") or KUBECONFIG
    file = rooted(path) if path == KUBECONFIG else Path(path)
    try:
        text = file.read_text()
    except OSError as exc:
        raise KubectlError(f'error: error loading config file "{path}": {exc.strerror}') from exc
    match = re.search(r"^\s*server:\s*(\S+)", text, re.M)
    if not match:
        raise KubectlError(f"error: no server found in kubeconfig {path}")
    return http_url(match.group(1))


def kube(base: str, method: str, path: str, body=None):
    try:
        _, data = request(method, base + path, body)
        return json.loads(data)
    except urllib.error.HTTPError as exc:
        payload = json.loads(exc.read() or b"{}")
        if payload.get("reason") == "NotFound":
            raise KubectlError(f"Error from server (NotFound): {payload['message']}") from exc
        raise KubectlError(f"Error from server: {payload.get('message', exc)}") from exc
    except (urllib.error.URLError, OSError) as exc:
        host = re.sub(r"^http://", "", base)
        raise KubectlError(
            f"The connection to the server {host} was refused - did you specify the right host "
            "or port?"
        ) from exc


def human_age(seconds: float) -> str:
    s = int(max(seconds, 0))
    if s < 120:
        return f"{s}s"
    m = s // 60
    if m < 10:
        return f"{m}m{s % 60}s" if s % 60 else f"{m}m"
    if m < 180:
        return f"{m}m"
    h = m // 60
    if h < 8:
        return f"{h}h{m % 60}m" if m % 60 else f"{h}h"
    if h < 48:
        return f"{h}h"
    return f"{h // 24}d"


def node_table(items: list[dict], wide: bool) -> str:
    now = dt.datetime.now(dt.UTC)
    rows = [["NAME", "STATUS", "ROLES", "AGE", "VERSION"]]
    if wide:
        rows[0] += ["INTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION"]
    for item in items:
        labels = item["metadata"]["labels"]
        roles = sorted(k.split("/", 1)[1] for k in labels if k.startswith("node-role."))
        ready = item["status"]["conditions"][0]["status"] == "True"
        status = "Ready" if ready else "NotReady"
        if item["spec"].get("unschedulable"):
            status += ",SchedulingDisabled"
        created = dt.datetime.strptime(
            item["metadata"]["creationTimestamp"], "%Y-%m-%dT%H:%M:%SZ"
        ).replace(tzinfo=dt.UTC)
        info = item["status"]["nodeInfo"]
        row = [
            item["metadata"]["name"],
            status,
            ",".join(roles) or "<none>",
            human_age((now - created).total_seconds()),
            info["kubeletVersion"],
        ]
        if wide:
            row += [
                item["status"]["addresses"][0]["address"],
                info["osImage"],
                info["kernelVersion"],
            ]
        rows.append(row)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "   ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows
    )


def parse_duration(text: str) -> float:
    total = 0.0
    for number, unit in re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", text):
        total += float(number) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]
    return total


def cmd_kubectl(args: list[str]) -> int:
    kubeconfig = None
    output = ""
    flags: dict[str, str] = {}
    words: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        if arg.startswith("--") and "=" in arg:
            name, value = arg[2:].split("=", 1)
            flags[name] = value
        elif arg in ("--kubeconfig", "-o", "--output", "--timeout", "--for", "-l", "--selector"):
            flags[arg.lstrip("-")] = args[index + 1]
            index += 1
        elif arg.startswith("-o") and len(arg) > 2:
            flags["o"] = arg[2:]
        elif arg.startswith("-"):
            flags[arg.lstrip("-")] = "true"
        else:
            words.append(arg)
        index += 1
    kubeconfig = flags.pop("kubeconfig", None)
    output = flags.pop("o", flags.pop("output", ""))
    try:
        if not words:
            raise KubectlError("error: the k3s test double needs a kubectl command")
        base = kube_base(kubeconfig)
        verb, rest = words[0], words[1:]
        if verb == "get" and "raw" in flags:
            kube(base, "GET", "/readyz") if flags["raw"] in ("/readyz", "/livez", "/healthz") else (
                _ for _ in ()
            ).throw(KubectlError("error: the double serves only /readyz"))
            print("ok")
            return 0
        if verb == "get" and rest and rest[0] in ("nodes", "node", "no"):
            if len(rest) > 1:
                items = [kube(base, "GET", f"/api/v1/nodes/{rest[1]}")]
                single = True
            else:
                items = kube(base, "GET", "/api/v1/nodes")["items"]
                single = False
            if output == "json":
                doc = (
                    items[0]
                    if single
                    else {
                        "apiVersion": "v1",
                        "items": items,
                        "kind": "List",
                        "metadata": {"resourceVersion": ""},
                    }
                )
                print(json.dumps(doc, indent=4))
            elif output == "name":
                for item in items:
                    print(f"node/{item['metadata']['name']}")
            elif output in ("", "wide"):
                if not items:
                    print("No resources found", file=sys.stderr)
                else:
                    print(node_table(items, output == "wide"))
            else:
                raise KubectlError(f"error: the k3s test double does not model -o {output}")
            return 0
        if verb in ("cordon", "uncordon", "drain") and len(rest) == 1:
            known = {
                "ignore-daemonsets",
                "delete-emptydir-data",
                "delete-local-data",
                "force",
                "timeout",
                "grace-period",
                "disable-eviction",
                "skip-wait-for-delete-timeout",
            }
            unknown = set(flags) - (known if verb == "drain" else set())
            if unknown:
                raise KubectlError(f"error: unknown flag: --{sorted(unknown)[0]}")
            name = rest[0]
            want = verb != "uncordon"
            current = kube(base, "GET", f"/api/v1/nodes/{name}")
            if bool(current["spec"].get("unschedulable")) == want:
                print(f"node/{name} already {'cordoned' if want else 'uncordoned'}")
            else:
                kube(base, "PATCH", f"/api/v1/nodes/{name}", {"spec": {"unschedulable": want}})
                print(f"node/{name} {'cordoned' if want else 'uncordoned'}")
            if verb == "drain":
                print(f"node/{name} drained")
            return 0
        if verb == "delete" and len(rest) == 2 and rest[0] in ("node", "nodes", "no"):
            kube(base, "DELETE", f"/api/v1/nodes/{rest[1]}")
            print(f'node "{rest[1]}" deleted')
            return 0
        if verb == "wait" and flags.get("for", "").lower() == "condition=ready":
            names = [w.split("/", 1)[1] for w in rest if w.startswith(("node/", "nodes/"))]
            if "all" in flags and rest[:1] in (["nodes"], ["node"]):
                names = [i["metadata"]["name"] for i in kube(base, "GET", "/api/v1/nodes")["items"]]
            if not names:
                raise KubectlError("error: the k3s test double waits only on node/NAME or --all")
            deadline = time.time() + parse_duration(flags.get("timeout", "30s"))
            for name in names:
                while True:
                    item = kube(base, "GET", f"/api/v1/nodes/{name}")
                    if item["status"]["conditions"][0]["status"] == "True":
                        print(f"node/{name} condition met")
                        break
                    if time.time() >= deadline:
                        raise KubectlError(
                            f"error: timed out waiting for the condition on nodes/{name}"
                        )
                    time.sleep(0.5)
            return 0
        raise KubectlError(f"error: the k3s test double does not model `kubectl {' '.join(args)}`")
    except KubectlError as exc:
        print(exc, file=sys.stderr)
        return 1


# ---------------------------------------------------------------- etcd-snapshot


def cmd_etcd_snapshot(args: list[str]) -> int:
    sub = args[0] if args and not args[0].startswith("-") else "save"
    rest = args[1:] if args and not args[0].startswith("-") else args
    flags = parse_flags(rest)
    config = load_config([])
    config.update({k: v for k, v in flags.items() if k in ("data-dir", "node-name")})
    data_dir = rooted(str(config.get("data-dir", DATA_DIR)))
    if not (data_dir / "server" / "db" / "etcd").is_dir():
        log(
            "fatal",
            "Error: etcd datastore disabled: unable to perform etcd snapshot on non-etcd system",
        )
        return 1
    snap_dir = Path(str(flags.get("etcd-snapshot-dir") or data_dir / "server/db/snapshots"))
    if sub == "save":
        name = f"{flags.get('name', 'on-demand')}-{node_name(config)}-{int(time.time())}"
        state = data_dir / "server" / "db" / "double-nodes.json"
        content = state.read_bytes() if state.exists() else b'{"note": "datastore is remote"}'
        write_private(snap_dir / name, content)
        log("info", f"Snapshot {name} saved.")
        return 0
    if sub in ("ls", "list"):
        rows = [("Name", "Location", "Size", "Created")]
        for file in sorted(snap_dir.glob("*")) if snap_dir.is_dir() else []:
            stat = file.stat()
            rows.append((file.name, f"file://{file}", str(stat.st_size), rfc3339(stat.st_mtime)))
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        for row in rows:
            print(" ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
        return 0
    log("fatal", f"Error: the k3s test double does not model `etcd-snapshot {sub}`")
    return 1


# ---------------------------------------------------------------- entry point


def set_process_name(name: str) -> None:
    """Name the process as K3s names itself (`ss -p` and `ps` show k3s-server / k3s-agent),
    not python3: preflight tells our own listeners from foreign ones by that name."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(15, name.encode()[:15], 0, 0, 0)  # PR_SET_NAME
    except (OSError, AttributeError):
        log("warning", f"could not rename the process to {name}")


def main(argv: list[str]) -> int:
    if VERSION.startswith("__"):
        print(
            "this k3s test double has no version baked in: the kit step (molecule/shared/"
            "prepare.yml) writes it with the version replaced",
            file=sys.stderr,
        )
        return 1
    prog = Path(argv[0]).name
    args = argv[1:]
    if prog in ("kubectl", "ctr", "crictl"):
        args = [prog, *args]
    if not args or args[0] in ("-h", "--help", "help"):
        print(
            f"{PROGRAM} test double {VERSION}: server, agent, kubectl, ctr, crictl, etcd-snapshot"
        )
        return 0
    if args[0] in ("--version", "-v", "version"):
        print(f"{PROGRAM} version {VERSION} ({commit()})")
        print(f"go version {GO_VERSION}")
        return 0
    command, rest = args[0], args[1:]
    try:
        if command in ("server", "agent"):
            set_process_name(f"k3s-{command}")
            return Node(command, load_config(rest)).run()
        if command == "kubectl":
            return cmd_kubectl(rest)
        if command == "ctr":
            return cmd_ctr(rest)
        if command == "crictl":
            return cmd_crictl(rest)
        if command == "etcd-snapshot":
            return cmd_etcd_snapshot(rest)
    except Fatal as exc:
        log("fatal", str(exc))
        return 1
    log("fatal", f"Error: the k3s test double does not model the `{command}` command")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
