"""Cache hosts: Redis runs and listens; its ACL file is closed to others."""

from tests.verify import targets

testinfra_hosts = targets.hosts("cache")


def test_redis_runs(host):
    assert host.service("redis-server").is_running


def test_redis_listens(host):
    assert host.socket("tcp://127.0.0.1:6379").is_listening


def test_redis_acl_file_is_not_world_readable(host):
    assert host.file("/etc/redis/users.acl").mode & 0o007 == 0
