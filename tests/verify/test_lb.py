"""Load balancers: HAProxy runs, serves TLS on its port, keeps its stats page local."""

from tests.verify import targets

testinfra_hosts = targets.hosts("lb")


def haproxy(host):
    return targets.settings(host.backend.hostname).haproxy


def test_haproxy_runs(host):
    assert host.service("haproxy").is_running


def test_haproxy_listens_for_tls(host):
    assert host.socket(f"tcp://0.0.0.0:{haproxy(host).port}").is_listening


def test_haproxy_answers_tls(host):
    handshake = host.run(
        f"openssl s_client -connect 127.0.0.1:{haproxy(host).port} -brief </dev/null"
    )
    assert "Protocol version: TLSv1." in handshake.stderr + handshake.stdout


def test_stats_page_is_local_only(host):
    assert not host.socket(f"tcp://0.0.0.0:{haproxy(host).stats_port}").is_listening
