"""Policy checks over a set of rendered Kubernetes manifests.

Every check takes the list of documents and returns a list of violations (empty when the set
complies), so a test can assert on a real render and on a deliberately broken copy alike.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

import kubernetes_validate
import yaml

K8S_VERSION = "1.33.0"
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "Pod"}
LONG_RUNNING_KINDS = {"Deployment", "StatefulSet", "DaemonSet"}
# ConfigMap keys that hold a pod manifest (the KubernetesExecutor pod template).
EMBEDDED_POD_KEYS = {("airflow-pod-template", "pod_template.yaml")}


def _name(doc: dict) -> str:
    return f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"


def embedded_pods(docs: Iterable[dict]) -> list[dict]:
    """Pod manifests stored as strings in ConfigMaps (validated and policed like the rest)."""
    pods = []
    for doc in docs:
        if doc.get("kind") != "ConfigMap":
            continue
        for key, value in (doc.get("data") or {}).items():
            if (doc["metadata"]["name"], key) in EMBEDDED_POD_KEYS:
                pods.append(yaml.safe_load(value))
    return pods


def pod_specs(docs: Iterable[dict]) -> Iterator[tuple[dict, dict, dict]]:
    """(owner document, pod metadata, pod spec) for every workload, embedded pods included."""
    docs = list(docs)
    for doc in [*docs, *embedded_pods(docs)]:
        kind = doc.get("kind")
        if kind == "Pod":
            yield doc, doc.get("metadata", {}), doc.get("spec", {})
        elif kind in WORKLOAD_KINDS:
            template = doc.get("spec", {}).get("template", {})
            yield doc, template.get("metadata", {}), template.get("spec", {})
        elif kind == "CronJob":
            job = doc.get("spec", {}).get("jobTemplate", {}).get("spec", {})
            template = job.get("template", {})
            yield doc, template.get("metadata", {}), template.get("spec", {})


def containers(spec: dict) -> Iterator[tuple[str, dict]]:
    for field in ("initContainers", "containers"):
        for container in spec.get(field) or []:
            yield field, container


def validate_schema(docs: Iterable[dict]) -> list[str]:
    """kubernetes-validate, strict, against Kubernetes 1.33 (embedded pods included)."""
    docs = list(docs)
    errors = []
    for doc in [*docs, *embedded_pods(docs)]:
        try:
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            errors.append(f"{_name(doc)}: {exc.message} at {'.'.join(map(str, exc.path))}")
    return errors


def check_probes(docs: Iterable[dict]) -> list[str]:
    """Containers of long-running workloads have readiness and liveness probes."""
    errors = []
    for owner, _meta, spec in pod_specs(docs):
        if owner.get("kind") not in LONG_RUNNING_KINDS:
            continue  # Jobs and task pods run to completion
        for container in spec.get("containers") or []:
            for probe in ("readinessProbe", "livenessProbe"):
                if probe not in container:
                    errors.append(f"{_name(owner)} container {container['name']} has no {probe}")
    return errors


def check_resources(docs: Iterable[dict]) -> list[str]:
    """Every container (init containers too) requests and limits cpu and memory."""
    errors = []
    for owner, _meta, spec in pod_specs(docs):
        for field, container in containers(spec):
            resources = container.get("resources") or {}
            for bound in ("requests", "limits"):
                for res in ("cpu", "memory"):
                    if not (resources.get(bound) or {}).get(res):
                        errors.append(
                            f"{_name(owner)} {field} {container['name']} lacks {bound}.{res}"
                        )
    return errors


def check_non_root(docs: Iterable[dict]) -> list[str]:
    """Pods run as a non-root UID, with no privilege escalation, no capabilities, seccomp on."""
    errors = []
    for owner, _meta, spec in pod_specs(docs):
        pod_sc = spec.get("securityContext") or {}
        if spec.get("hostNetwork") or spec.get("hostPID") or spec.get("hostIPC"):
            errors.append(f"{_name(owner)} uses a host namespace")
        if (pod_sc.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
            errors.append(f"{_name(owner)} has no RuntimeDefault seccomp profile")
        for field, container in containers(spec):
            sc = container.get("securityContext") or {}
            where = f"{_name(owner)} {field} {container['name']}"
            if not sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")):
                errors.append(f"{where} does not set runAsNonRoot")
            uid = sc.get("runAsUser", pod_sc.get("runAsUser"))
            if uid is None or int(uid) == 0:
                errors.append(f"{where} runs as UID {uid!r} (needs an explicit non-zero UID)")
            if sc.get("allowPrivilegeEscalation") is not False:
                errors.append(f"{where} allows privilege escalation")
            if sc.get("privileged"):
                errors.append(f"{where} is privileged")
            if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
                errors.append(f"{where} does not drop all capabilities")
            if (sc.get("capabilities") or {}).get("add"):
                errors.append(f"{where} adds capabilities")
    return errors


_TAG = re.compile(r"^(?P<repo>[^@]+?)(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(?:@.+)?$")


def image_tag(image: str) -> tuple[str, str | None]:
    """Split an image reference into repository and tag (a port in the host is not a tag)."""
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return image.split("@")[0], None
    repo, tag = image.rsplit(":", 1)
    return repo, tag.split("@")[0]


def check_images(docs: Iterable[dict]) -> list[str]:
    """Every image has an exact tag: no "latest", no untagged reference, a set pull policy."""
    errors = []
    for owner, _meta, spec in pod_specs(docs):
        for field, container in containers(spec):
            image = container.get("image", "")
            _repo, tag = image_tag(image)
            where = f"{_name(owner)} {field} {container['name']}"
            if not tag:
                errors.append(f"{where}: image {image!r} has no tag")
            elif tag == "latest":
                errors.append(f"{where}: image {image!r} uses the latest tag")
            if container.get("imagePullPolicy") not in {"IfNotPresent", "Never"}:
                errors.append(f"{where}: imagePullPolicy must be IfNotPresent or Never")
    return errors


def _walk_strings(value) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _walk_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk_strings(item)


def check_no_secret_values(docs: Iterable[dict], secret_values: Iterable[str]) -> list[str]:
    """No generated secret value appears anywhere in a non-Secret document."""
    values = [v for v in secret_values if v]
    errors = []
    for doc in docs:
        if doc.get("kind") == "Secret":
            continue
        for text in _walk_strings(doc):
            for value in values:
                if value in text:
                    errors.append(f"{_name(doc)} contains a generated secret value")
    return sorted(set(errors))


def check_service_selectors(docs: Iterable[dict]) -> list[str]:
    """Every Service selects the pods of a long-running workload and targets a named port."""
    docs = list(docs)
    pods = [
        (meta.get("labels") or {}, spec)
        for owner, meta, spec in pod_specs(docs)
        if owner.get("kind") in LONG_RUNNING_KINDS
    ]
    errors = []
    for svc in (d for d in docs if d.get("kind") == "Service"):
        selector = svc.get("spec", {}).get("selector") or {}
        if not selector:
            errors.append(f"{_name(svc)} has no selector")
            continue
        matches = [
            spec for labels, spec in pods if all(labels.get(k) == v for k, v in selector.items())
        ]
        if not matches:
            errors.append(f"{_name(svc)} selector {selector} matches no pod template")
            continue
        port_names = {
            p.get("name")
            for spec in matches
            for c in spec.get("containers") or []
            for p in c.get("ports") or []
        }
        for port in svc["spec"].get("ports") or []:
            target = port.get("targetPort")
            if isinstance(target, str) and target not in port_names:
                errors.append(f"{_name(svc)} targets port {target!r} no selected container names")
    return errors


def check_references(docs: Iterable[dict]) -> list[str]:
    """Every Secret/ConfigMap (and key) a pod references is part of the rendered set."""
    docs = list(docs)
    stores: dict[tuple[str, str], set[str]] = {}
    for doc in docs:
        if doc.get("kind") in {"Secret", "ConfigMap"}:
            keys = set((doc.get("data") or {}) | (doc.get("stringData") or {}))
            stores[(doc["kind"], doc["metadata"]["name"])] = keys
    errors = []

    def need(owner: dict, kind: str, name: str, key: str | None = None) -> None:
        if (kind, name) not in stores:
            errors.append(f"{_name(owner)} references missing {kind} {name}")
        elif key is not None and key not in stores[(kind, name)]:
            errors.append(f"{_name(owner)} references missing key {key} of {kind} {name}")

    for owner, _meta, spec in pod_specs(docs):
        for _field, container in containers(spec):
            for env in container.get("env") or []:
                source = env.get("valueFrom") or {}
                if "secretKeyRef" in source:
                    ref = source["secretKeyRef"]
                    need(owner, "Secret", ref["name"], ref["key"])
                if "configMapKeyRef" in source:
                    ref = source["configMapKeyRef"]
                    need(owner, "ConfigMap", ref["name"], ref["key"])
            for env_from in container.get("envFrom") or []:
                if "secretRef" in env_from:
                    need(owner, "Secret", env_from["secretRef"]["name"])
                if "configMapRef" in env_from:
                    need(owner, "ConfigMap", env_from["configMapRef"]["name"])
        for volume in spec.get("volumes") or []:
            if "secret" in volume:
                for item in volume["secret"].get("items") or [{"key": None}]:
                    need(owner, "Secret", volume["secret"]["secretName"], item["key"])
            if "configMap" in volume:
                for item in volume["configMap"].get("items") or [{"key": None}]:
                    need(owner, "ConfigMap", volume["configMap"]["name"], item["key"])
        account = spec.get("serviceAccountName")
        if account and not any(
            d.get("kind") == "ServiceAccount" and d["metadata"]["name"] == account for d in docs
        ):
            errors.append(f"{_name(owner)} uses missing ServiceAccount {account}")
    return errors


def check_no_helm_hooks(docs: Iterable[dict]) -> list[str]:
    """No object relies on Helm or Argo CD hooks (migrations are ordered by the manifests)."""
    errors = []
    for doc in docs:
        for key in doc.get("metadata", {}).get("annotations") or {}:
            if key.startswith(("helm.sh/hook", "argocd.argoproj.io/hook")):
                errors.append(f"{_name(doc)} has hook annotation {key}")
    return errors


def image_has_registry_host(image: str) -> bool:
    """The first path component names a registry: it has a '.' or ':' or is 'localhost'."""
    first, sep, _rest = image.partition("/")
    return bool(sep) and ("." in first or ":" in first or first == "localhost")


def all_images(docs: Iterable[dict]) -> list[tuple[str, str]]:
    """(where, image) of every container, init containers and embedded pods included."""
    found = []
    for owner, _meta, spec in pod_specs(docs):
        for field, container in containers(spec):
            found.append(
                (f"{_name(owner)} {field} {container['name']}", container.get("image", ""))
            )
    return found


def check_registry_hosts(docs: Iterable[dict]) -> list[str]:
    """Every image is fully qualified with its registry host (no short names)."""
    return [
        f"{where}: image {image!r} has no registry host"
        for where, image in all_images(docs)
        if not image_has_registry_host(image)
    ]


APP_IMAGE_REPOSITORY = "house-price-appliance"


def check_app_read_only_root(docs: Iterable[dict]) -> list[str]:
    """Containers of our image run on a read-only root and write only mounted volumes.

    The image's code and venv are root-owned already; a read-only root also stops a process
    from writing anywhere else (caches, a generated airflow.cfg) behind the operator's back.
    /tmp must then be a volume: Python, gunicorn and Airflow all write there.
    """
    errors = []
    for owner, _meta, spec in pod_specs(docs):
        volumes = {v.get("name"): v for v in spec.get("volumes") or []}
        for field, container in containers(spec):
            repo, _tag = image_tag(container.get("image", ""))
            if repo.rsplit("/", 1)[-1] != APP_IMAGE_REPOSITORY:
                continue
            where = f"{_name(owner)} {field} {container['name']}"
            if (container.get("securityContext") or {}).get("readOnlyRootFilesystem") is not True:
                errors.append(f"{where} does not set readOnlyRootFilesystem: true")
            mounts = {
                m.get("mountPath"): m.get("name") for m in container.get("volumeMounts") or []
            }
            if "emptyDir" not in volumes.get(mounts.get("/tmp"), {}):
                errors.append(f"{where} has no emptyDir at /tmp")
    return errors


# Pods that talk to the Kubernetes API: the scheduler (KubernetesExecutor starts task pods)
# and the Airflow api-server (reads a running task's log from its pod).
API_CLIENT_SERVICE_ACCOUNTS = {"airflow-scheduler", "airflow-api-server"}


def check_service_account_tokens(docs: Iterable[dict]) -> list[str]:
    """Only the pods that use the Kubernetes API get a service account token."""
    errors = []
    for owner, _meta, spec in pod_specs(docs):
        account = spec.get("serviceAccountName", "default")
        mounted = spec.get("automountServiceAccountToken")
        if account in API_CLIENT_SERVICE_ACCOUNTS:
            if mounted is not True:
                errors.append(f"{_name(owner)} needs its {account} token (set it to true)")
        elif mounted is not False:
            errors.append(f"{_name(owner)} mounts a service account token it does not use")
    return errors


ALL_CHECKS = (
    check_service_account_tokens,
    check_app_read_only_root,
    check_probes,
    check_resources,
    check_non_root,
    check_images,
    check_registry_hosts,
    check_service_selectors,
    check_references,
    check_no_helm_hooks,
)
