"""Image references, Job names, SeaweedFS volume layout and the sizing arithmetic.

Rendered manifests come from the real roles (playbooks/render.yml and the metallb role in
render-only mode); the arithmetic is the platform role's own filter code, loaded from the role.
"""

from __future__ import annotations

import copy
import importlib.util
import json
from pathlib import Path

import pytest
import yaml

from tests.roles.test_metallb_manifests import render as render_metallb_role
from testsupport.render import REGISTRY_MIRROR as MIRROR

from . import policy
from .conftest import REPO

VERSIONS = yaml.safe_load((REPO / "versions.yml").read_text())


def _load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


FILTERS = _load(REPO / "roles/platform/filter_plugins/platform_manifests.py")
SEAWEED = _load(REPO / "roles/seaweedfs/filter_plugins/seaweedfs_volumes.py")


# ---------------------------------------------------------------- image references


def render_metallb(tmp_path: Path, inventory: Path, **extra) -> list[dict]:
    out = render_metallb_role(
        tmp_path,
        inventory,
        appliance_versions=VERSIONS,
        metallb_address_pool=["192.0.2.240-192.0.2.250"],
        **extra,
    )
    return [d for d in yaml.safe_load_all((out / "metallb.yaml").read_text()) if d]


@pytest.mark.parametrize("mirror", ["", MIRROR])
@pytest.mark.parametrize("inventory", ["example", "fixture"])
def test_every_rendered_image_names_its_registry_host(
    request, tmp_path, inventory, mirror, rendered, rendered_example
):
    if inventory == "example":
        inv = REPO / "inventory" / "example"
        platform_docs = rendered_example.docs
    else:
        inv = Path(__file__).parent / "fixtures" / "inventory"
        platform_docs = rendered.docs
    if mirror:
        platform_docs = request.getfixturevalue("rendered_variant").docs
    extra = {"platform_registry_mirror": mirror} if mirror else {}
    docs = platform_docs + render_metallb(tmp_path, inv, **extra)
    images = [image for _where, image in policy.all_images(docs)]
    assert any("metallb/speaker" in i for i in images)
    assert any("library/postgres" in i for i in images)
    assert policy.check_registry_hosts(docs) == []
    hosts = {image.split("/", 1)[0] for image in images}
    if mirror:
        assert hosts == {MIRROR, "localhost"}, hosts
    else:
        assert hosts == {"docker.io", "quay.io", "localhost"}, hosts
        assert f"quay.io/metallb/speaker:{VERSIONS['metallb']}" in images


def test_the_registry_host_check_refuses_short_names(rendered):
    broken = copy.deepcopy(rendered.docs)
    sts = next(d for d in broken if d["kind"] == "StatefulSet")
    sts["spec"]["template"]["spec"]["containers"][0]["image"] = "library/postgres:16"
    problems = policy.check_registry_hosts(broken)
    assert len(problems) == 1 and "library/postgres:16" in problems[0]
    for short in ("postgres:16", "metallb/speaker:v0.12.1", "chrislusf/seaweedfs:4.44"):
        assert not policy.image_has_registry_host(short)
    for full in ("localhost/x:1", "quay.io/metallb/speaker:v0.12.1", "reg:5000/a/b:1"):
        assert policy.image_has_registry_host(full)


def test_image_ref_filter_replaces_only_the_host():
    pin = VERSIONS["images"]["postgres"]
    assert FILTERS.platform_image_ref(pin) == f"docker.io/library/postgres:{pin['tag']}"
    assert FILTERS.platform_image_ref(pin, MIRROR) == f"{MIRROR}/library/postgres:{pin['tag']}"
    with pytest.raises(ValueError, match="not a registry host"):
        FILTERS.platform_image_ref(pin, "mirror")
    with pytest.raises(ValueError, match="lacks registry"):
        FILTERS.platform_image_ref({"repository": "library/postgres", "tag": "16"})


# ---------------------------------------------------------------- Job names


def test_job_names_carry_the_hash_of_their_spec(rendered):
    jobs = [d for d in rendered.docs if d["kind"] == "Job"]
    assert {j["metadata"]["labels"]["house-prices/job"] for j in jobs} == {
        "postgresql-bootstrap",
        "seaweedfs-buckets",
        "airflow-db-migrate",
        "mlflow-accounts",
    }
    for job in jobs:
        stem = job["metadata"]["labels"]["house-prices/job"]
        digest = FILTERS.platform_checksum(job["spec"])[:10]
        assert job["metadata"]["name"] == f"{stem}-{digest}"


def test_job_name_changes_with_the_image_and_is_stable_otherwise(rendered):
    jobs = [d for d in rendered.docs if d["kind"] == "Job"]
    unnamed = copy.deepcopy(jobs)
    for job in unnamed:
        job["metadata"]["name"] = job["metadata"]["labels"]["house-prices/job"]
    again = FILTERS.platform_hashed_job_names(copy.deepcopy(unnamed))
    assert [j["metadata"]["name"] for j in again] == [j["metadata"]["name"] for j in jobs]
    for index, job in enumerate(unnamed):
        upgraded = copy.deepcopy(job)
        container = upgraded["spec"]["template"]["spec"]["containers"][0]
        container["image"] = container["image"].rsplit(":", 1)[0] + ":new-tag"
        (renamed,) = FILTERS.platform_hashed_job_names([upgraded])
        assert renamed["metadata"]["name"] != jobs[index]["metadata"]["name"]
        assert renamed["metadata"]["name"].startswith(job["metadata"]["name"] + "-")


def test_a_too_long_job_stem_is_refused():
    job = {"kind": "Job", "metadata": {"name": "x" * 60}, "spec": {}}
    with pytest.raises(ValueError, match="too long"):
        FILTERS.platform_hashed_job_names([job])


# ---------------------------------------------------------------- SeaweedFS fits its claim


def _weed_flags(docs) -> dict[str, str]:
    sts = next(
        d for d in docs if d["kind"] == "StatefulSet" and d["metadata"]["name"] == "seaweedfs"
    )
    args = sts["spec"]["template"]["spec"]["containers"][0]["args"]
    flags = dict(a.lstrip("-").split("=", 1) for a in args if a.startswith("-") and "=" in a)
    claim = sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"]
    return flags, claim


def test_seaweedfs_volumes_fit_the_claim_without_preallocation(rendered):
    flags, claim = _weed_flags(rendered.docs)
    assert flags["master.volumePreallocate"] == "false"
    volumes, size_mb = int(flags["volume.max"]), int(flags["master.volumeSizeLimitMB"])
    assert volumes > 0, "volume.max=0 means: as many volumes as the node's free disk holds"
    assert volumes * size_mb * 2**20 <= FILTERS.platform_bytes(claim)
    # every bucket can get its first volumes (7 per collection without replication)
    assert volumes >= 7 * 3


@pytest.mark.parametrize("claim", ["5Gi", "10Gi", "50Gi", "500Gi"])
def test_seaweedfs_layout_fits_any_reasonable_claim(claim):
    layout = SEAWEED.seaweedfs_volume_layout(claim, 3)
    assert layout["volume_max"] * layout["volume_size_limit_mb"] <= layout["claim_mb"] * 0.9
    assert layout["volume_max"] >= 21
    assert 64 <= layout["volume_size_limit_mb"] <= 1024


def test_seaweedfs_refuses_a_claim_too_small_or_a_volume_too_big():
    with pytest.raises(ValueError, match=r"platform_storage\.seaweedfs 1Gi is too small"):
        SEAWEED.seaweedfs_volume_layout("1Gi", 3)
    with pytest.raises(ValueError, match="Lower seaweedfs_volume_size_limit_mb"):
        SEAWEED.seaweedfs_volume_layout("10Gi", 3, 1024)


# ---------------------------------------------------------------- sizing


def _defaults():
    defaults = yaml.safe_load((REPO / "roles/platform/defaults/main.yml").read_text())
    pods = yaml.safe_load((REPO / "roles/platform/vars/main.yml").read_text())[
        "_platform_always_on_pods"
    ]
    for pod in pods:
        if isinstance(pod["replicas"], str):  # "{{ platform_replicas.<key> }}"
            key = pod["replicas"].split("platform_replicas.")[1].split()[0]
            pod["replicas"] = defaults["platform_replicas"][key]
    return defaults, pods


def _rendered_always_on_memory(docs) -> int:
    total = 0
    for doc in docs:
        if doc["kind"] not in {"Deployment", "StatefulSet"}:
            continue
        spec = doc["spec"]["template"]["spec"]
        mem = [
            FILTERS.platform_bytes(c["resources"]["requests"]["memory"]) for c in spec["containers"]
        ]
        init = [
            FILTERS.platform_bytes(c["resources"]["requests"]["memory"])
            for c in spec.get("initContainers") or []
        ]
        total += doc["spec"].get("replicas", 1) * max([sum(mem), *init])
    return total


def test_sizing_adds_up_exactly_what_the_templates_render(rendered):
    defaults, pods = _defaults()
    sizing = FILTERS.platform_sizing(defaults["platform_resources"], pods, 0)
    assert sizing["memory"] == _rendered_always_on_memory(rendered.docs)
    assert len(sizing["pods"]) == len(
        [d for d in rendered.docs if d["kind"] in {"Deployment", "StatefulSet"}]
    )


def _node(name, memory_mib, reserved, free_gib):
    return {
        "name": name,
        "memory_bytes": memory_mib * 2**20,
        "reserved_bytes": FILTERS.platform_bytes(reserved),
        "free_disk_bytes": free_gib * 2**30,
    }


def test_sizing_refuses_a_small_server_with_the_numbers_and_the_variables():
    defaults, pods = _defaults()
    sizing = FILTERS.platform_sizing(defaults["platform_resources"], pods, 2)
    problems = FILTERS.platform_sizing_problems(
        sizing, [_node("k3s-server-1", 1800, "1Gi", 100)], defaults["platform_storage"], 8 * 2**30
    )
    assert len(problems) == 2, problems
    text = " ".join(problems)
    gib = sizing["memory"] / 2**30
    assert f"request {gib:.1f} GiB of memory" in text
    assert "plus 2 task pod(s) of 1.0 GiB" in text
    assert "k3s-server-1: 1.8 GiB less 1.0 GiB reserved" in text
    assert "platform_resources" in text and "platform_sizing_task_pods" in text


def test_sizing_accepts_the_example_topology_and_refuses_a_small_disk():
    defaults, pods = _defaults()
    sizing = FILTERS.platform_sizing(defaults["platform_resources"], pods, 2)
    nodes = [_node("server", 8192, "1Gi", 100), _node("agent", 8192, "512Mi", 100)]
    assert (
        FILTERS.platform_sizing_problems(sizing, nodes, defaults["platform_storage"], 8 * 2**30)
        == []
    )
    small = [_node("server", 8192, "1Gi", 30), _node("agent", 8192, "512Mi", 30)]
    (problem,) = FILTERS.platform_sizing_problems(
        sizing, small, defaults["platform_storage"], 8 * 2**30
    )
    assert "postgresql 10Gi, seaweedfs 50Gi" in problem and "68.0 GiB" in problem


# ---------------------------------------------------------------- no fetch/slurp of archives


FORBIDDEN = {"fetch", "ansible.builtin.fetch", "slurp", "ansible.builtin.slurp"}


def _tasks(node):
    if isinstance(node, list):
        for item in node:
            yield from _tasks(item)
    elif isinstance(node, dict):
        yield node
        for key in ("block", "rescue", "always", "tasks", "pre_tasks", "post_tasks", "handlers"):
            if key in node:
                yield from _tasks(node[key])


def test_no_image_archive_travels_through_fetch_or_slurp():
    offenders = []
    files = [*REPO.glob("roles/*/tasks/*.yml"), *REPO.glob("roles/*/handlers/*.yml")]
    files += list(REPO.glob("playbooks/*.yml"))
    assert len(files) > 30
    for path in files:
        for task in _tasks(yaml.safe_load(path.read_text()) or []):
            used = FORBIDDEN & set(task)
            if not used:
                continue
            args = json.dumps(task[used.pop()]).lower()
            in_image_role = "platform_images" in str(path) or path.name.startswith(
                ("bundle", "platform")
            )
            if in_image_role or any(word in args for word in ("image", "archive", ".tar")):
                offenders.append(f"{path.relative_to(REPO)}: {task.get('name')}")
    assert offenders == []
