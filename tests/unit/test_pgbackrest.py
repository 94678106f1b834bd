"""infra/pgbackrest.py and the repository host: derived certificates, the rendered
pgbackrest.conf of each role, who runs the backups, and what the inventory must keep."""

import ssl

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from pydantic import SecretStr

from infra.jobs import host_jobs
from infra.patroni import _replica_methods
from infra.pgbackrest import CA_NAME, NOT_AFTER, tls_files
from infra.settings import Settings
from infra.templating import render
from tests.unit.test_cluster import cluster_tree, data  # noqa: F401 (the fixture)
from tests.unit.test_settings import problem, tree  # noqa: F401 (the fixture)

SECRET = SecretStr("s3cret-cipher-pass-long-enough")


def test_the_same_secret_gives_the_same_bytes():
    assert tls_files(SECRET, "data-1", "10.0.0.31") == tls_files(SECRET, "data-1", "10.0.0.31")


def test_another_secret_gives_another_ca():
    other = tls_files(SecretStr("another-cipher-pass-long-enough"), "data-1", "10.0.0.31")
    assert other.ca != tls_files(SECRET, "data-1", "10.0.0.31").ca


def test_each_host_has_its_own_key_under_one_ca():
    one, two = tls_files(SECRET, "data-1", "10.0.0.31"), tls_files(SECRET, "data-2", "10.0.0.32")
    assert one.ca == two.ca and one.key.get_secret_value() != two.key.get_secret_value()


def test_the_certificate_names_the_host_and_its_address():
    cert = x509.load_pem_x509_certificate(
        tls_files(SECRET, "data-1", "10.0.0.31").certificate.encode()
    )
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(n.value) for n in names] == ["data-1", "10.0.0.31", "10.0.0.31"]


def test_the_certificate_names_the_host_as_common_name():
    cert = x509.load_pem_x509_certificate(
        tls_files(SECRET, "data-1", "10.0.0.31").certificate.encode()
    )
    assert cert.subject.rfc4514_string() == "CN=data-1"


def test_the_ca_signed_the_certificate(tmp_path):
    files = tls_files(SECRET, "data-1", "10.0.0.31")
    ca = x509.load_pem_x509_certificate(files.ca.encode())
    cert = x509.load_pem_x509_certificate(files.certificate.encode())
    cert.verify_directly_issued_by(ca)
    assert ca.subject.rfc4514_string() == f"CN={CA_NAME}"


def test_key_and_certificate_belong_together(tmp_path):
    files = tls_files(SECRET, "data-1", "10.0.0.31")
    (tmp_path / "c").write_text(files.certificate)
    (tmp_path / "k").write_text(files.key.get_secret_value())
    ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(
        tmp_path / "c", tmp_path / "k"
    )


def test_the_key_is_unencrypted_pem():
    key = tls_files(SECRET, "data-1", "10.0.0.31").key.get_secret_value()
    assert load_pem_private_key(key.encode(), password=None)


def test_the_validity_is_fixed():
    cert = x509.load_pem_x509_certificate(tls_files(SECRET, "n", "10.0.0.1").certificate.encode())
    assert cert.not_valid_after_utc == NOT_AFTER


@pytest.mark.parametrize("name", ["data=1", "data-1\nrepo1-path=/", "", "-data", "a" * 64])
def test_a_name_pgbackrest_cannot_carry_is_refused(name):
    with pytest.raises(ValueError):
        tls_files(SECRET, name, "10.0.0.31")


def _config(role: str) -> str:
    tls = {
        "repository": "mon-1",
        "repository_address": "10.0.0.41",
        "address": "10.0.0.41" if role == "repository" else "10.0.0.31",
        "port": 8432,
        "ca_file": "/ca",
        "cert_file": "/crt",
        "key_file": "/key",
        "clients": ["data-1", "data-2"] if role == "repository" else ["mon-1"],
        "db_addresses": ["10.0.0.31", "10.0.0.32"],
    }
    return render(
        "/etc/pgbackrest.conf",
        repository=None if role == "client" else "/srv/backup/pgbackrest",
        backup=Settings().backup,
        cipher_pass=None if role == "client" else "cipher",
        stanza="aktienanalyse",
        data_dir="/var/lib/postgresql/15/main",
        tls=None if role == "local" else tls,
    )


def test_the_repository_host_backs_up_both_db_hosts():
    text = _config("repository")
    assert "pg1-host=10.0.0.31\n" in text and "pg2-host=10.0.0.32\n" in text


def test_the_repository_host_admits_the_db_hosts_only():
    lines = [line for line in _config("repository").splitlines() if "tls-server-auth" in line]
    assert lines == ["tls-server-auth=data-1=aktienanalyse", "tls-server-auth=data-2=aktienanalyse"]


def test_a_client_holds_no_cipher_pass():
    assert "cipher" not in _config("client")


def test_a_client_reaches_the_repository_over_tls():
    text = _config("client")
    assert "repo1-host=10.0.0.41\nrepo1-host-type=tls\n" in text and "repo1-path" not in text


def test_a_client_admits_the_repository_host_only():
    lines = [line for line in _config("client").splitlines() if "tls-server-auth" in line]
    assert lines == ["tls-server-auth=mon-1=aktienanalyse"]


def test_a_local_repository_has_no_tls_server():
    text = _config("local")
    assert "tls-server" not in text and "repo1-path=/srv/backup/pgbackrest" in text


def test_the_backup_host_runs_the_backups():
    names = [job.name for job in host_jobs(Settings(), {"backup", "voter"}, repository_host=True)]
    assert names == ["postgresql-backup-diff", "postgresql-backup-full"]


def test_the_backup_host_runs_them_without_asking_for_a_primary():
    jobs = host_jobs(Settings(), {"backup", "voter"}, clustered=True, repository_host=True)
    assert [job.condition for job in jobs] == [[], []]


def test_a_db_host_with_a_backup_host_runs_none():
    jobs = host_jobs(Settings(), {"db"}, clustered=True, repository_host=True)
    assert not [job for job in jobs if job.name.startswith("postgresql-backup")]


def test_patroni_builds_a_replica_from_the_repository_first():
    methods = _replica_methods(from_repository=True)
    assert methods["create_replica_methods"] == ["pgbackrest", "basebackup"]


def test_replicas_read_missing_wal_from_the_repository():
    recovery = _replica_methods(from_repository=True)["recovery_conf"]
    assert recovery == {
        "restore_command": '/usr/bin/pgbackrest --stanza=aktienanalyse archive-get %f "%p"'
    }


def test_without_a_repository_host_patroni_uses_basebackup():
    assert _replica_methods(from_repository=False)["create_replica_methods"] == ["basebackup"]


def _hosts(**extra):
    return {"data-1": ["db"], "data-2": ["db"], "mon-1": ["voter"], **extra}


def test_a_cluster_without_a_backup_host_is_refused(cluster_tree):  # noqa: F811
    message = problem(cluster_tree, None, "", hosts=_hosts(), data=data())
    assert "backup.enabled: a PostgreSQL cluster needs a backup host" in message


def test_a_cluster_without_backups_needs_no_backup_host(cluster_tree):  # noqa: F811
    (cluster_tree / "group_data" / "all.py").write_text(
        (cluster_tree / "group_data" / "all.py").read_text() + "backup = {'enabled': False}\n"
    )
    from tests.unit.test_settings import load

    assert load(cluster_tree, hosts=_hosts(), data=data())


def test_a_backup_host_on_a_db_host_is_refused(cluster_tree):  # noqa: F811
    hosts = _hosts(**{"data-1": ["db", "backup"], "mon-1": ["voter", "backup"]})
    message = problem(cluster_tree, None, "", hosts=hosts, data=data())
    assert "t.py (host data-1): groups: a backup host that is also a db host" in message


def test_a_second_backup_host_is_refused(cluster_tree):  # noqa: F811
    hosts = _hosts(**{"mon-1": ["voter", "backup"], "mon-2": ["backup"]})
    message = problem(cluster_tree, None, "", hosts=hosts, data=data())
    assert "t.py (host mon-2): groups: a second backup host" in message


def test_a_db_host_backing_up_unlike_the_backup_host_is_refused(cluster_tree):  # noqa: F811
    hosts = _hosts(**{"mon-1": ["voter", "backup"]})
    per_host = data(**{"data-2": {"backup": {"enabled": False}}})
    message = problem(cluster_tree, None, "", hosts=hosts, data=per_host)
    assert "t.py (host data-2): backup.enabled: differs from the backup host mon-1's" in message
