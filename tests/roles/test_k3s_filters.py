"""The k3s roles' version, token and node-readiness helpers (roles/k3s_common/filter_plugins)."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from testsupport.ansible import filter_plugin

k3s = filter_plugin("k3s_common", "k3s_versions")


@pytest.mark.parametrize(
    ("current", "wanted", "refused"),
    [
        ("v1.33.5+k3s1", "v1.33.5+k3s1", None),
        ("v1.33.5+k3s1", "v1.33.6+k3s1", None),
        ("v1.33.5+k3s1", "v1.33.5+k3s2", None),
        ("v1.33.5+k3s1", "v1.34.1+k3s1", None),
        ("v1.33.5+k3s1", "v1.35.0+k3s1", "skips a minor version"),
        ("v1.33.5+k3s1", "v2.0.0+k3s1", "skips a minor version"),
        ("v1.33.5+k3s2", "v1.33.5+k3s1", "cannot be downgraded"),
        ("v1.34.1+k3s1", "v1.33.9+k3s1", "cannot be downgraded"),
    ],
)
def test_upgrade_steps(current, wanted, refused):
    problem = k3s.k3s_upgrade_problem(current, wanted)
    if refused is None:
        assert problem == ""
    else:
        assert refused in problem


def test_version_must_look_like_k3s():
    with pytest.raises(AnsibleFilterError, match="not a K3s version"):
        k3s.k3s_version_tuple("1.33.5")


@pytest.mark.parametrize(
    ("token", "password"),
    [
        ("s3cret", "s3cret"),
        ("K10" + "a" * 64 + "::server:s3cret", "s3cret"),
        ("K10" + "b" * 64 + "::node:s3cret", "s3cret"),
        ("  s3cret\n", "s3cret"),
    ],
)
def test_token_password(token, password):
    assert k3s.k3s_token_password(token) == password


def _node(name, ready="True", version="v1.33.5+k3s1"):
    return {
        "metadata": {"name": name},
        "status": {
            "conditions": [{"type": "MemoryPressure", "status": "False"}]
            + ([{"type": "Ready", "status": ready}] if ready else []),
            "nodeInfo": {"kubeletVersion": version},
        },
    }


def test_node_problems_name_each_node():
    nodes = {
        "items": [
            _node("server-1"),
            _node("agent-1", ready="False"),
            _node("agent-2", version="v1.33.4+k3s1"),
            _node("agent-3", ready=None),
        ]
    }
    wanted = ["server-1", "agent-1", "agent-2", "agent-3", "agent-4"]
    assert k3s.k3s_node_problems(nodes, wanted, "v1.33.5+k3s1") == [
        "agent-1: Ready is False",
        "agent-2: runs v1.33.4+k3s1, expected v1.33.5+k3s1",
        "agent-3: Ready is Unknown",
        "agent-4: has not joined the cluster",
    ]
    assert k3s.k3s_node_problems(nodes, ["server-1"], "v1.33.5+k3s1") == []
