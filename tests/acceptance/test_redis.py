"""deploys/redis.py on the converged cache host: memory, ACL users, files."""

import pytest

from deploys.redis import ACL_FILE, CONFIG_FILE
from infra.tuning import redis_maxmemory
from tests.acceptance import lab

testinfra_hosts = lab.hosts("cache")

CACHE_HOST = lab.host_info(lab.names("cache")[0])


def admin(host, command: str) -> str:
    result = lab.ssh(
        host.backend.hostname,
        f"read -r REDISCLI_AUTH; export REDISCLI_AUTH; redis-cli --user admin {command}",
        stdin=lab.secret("redis_admin_password"),
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_redis_is_running(host):
    assert host.service("redis-server").is_running


def test_redis_starts_at_boot(host):
    assert host.service("redis-server").is_enabled


def test_maxmemory_is_half_the_container_capped_at_1g(host):
    expected = redis_maxmemory(lab.memory_bytes(CACHE_HOST["name"]), 0.5, 2**30)
    assert admin(host, "CONFIG GET maxmemory").split() == ["maxmemory", str(expected)]


def test_eviction_policy_is_allkeys_lru(host):
    assert admin(host, "CONFIG GET maxmemory-policy").split()[1] == "allkeys-lru"


def test_seed_save_points(host):
    assert admin(host, "CONFIG GET save").splitlines()[1] == "900 1 300 10 60 10000"


def test_default_user_is_disabled(host):
    assert admin(host, "ACL GETUSER default").splitlines()[1].startswith("off")


@pytest.mark.parametrize("path", [CONFIG_FILE, ACL_FILE])
def test_file_is_roots_readable_by_redis_only(host, path):
    config = host.file(path)
    assert (config.user, config.group, config.mode) == ("root", "redis", 0o640)


def test_acl_file_holds_no_password(host):
    assert lab.secret("redis_app_password") not in host.file(ACL_FILE).content_string
