"""The holder's cache of older versions: least recently used goes first."""

from types import SimpleNamespace

from model_server.holder import VersionCache


def _version(number: str):
    return SimpleNamespace(version=number)


def test_the_least_recently_used_version_is_evicted_first():
    cache = VersionCache(size=2)
    for number in ("1", "2"):
        cache.remember(_version(number))
    assert cache.get("1").version == "1"  # now "2" is the least recently used
    cache.remember(_version("3"))
    assert cache.get("2") is None
    assert [cache.get(n).version for n in ("1", "3")] == ["1", "3"]
