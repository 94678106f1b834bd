"""The plan renderer's pure parts: redaction, diff parsing, deciding reloads, the markdown."""

import hashlib

from tools.plan import Redactor, build, render
from tools.plan_comment import LIMIT, existing_comment, fit

PEM = (
    "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nqnX1\n-----END PRIVATE KEY-----"
)

# pyinfra's dry-run JSON: reloads were decided before the run, so they are plain changes.
PLAN = {
    "plan": [
        {"op_hash": "a", "name": "HAProxy | Config /etc/haproxy/haproxy.cfg",
         "names": ["HAProxy | Config /etc/haproxy/haproxy.cfg"],
         "hosts_with_change": ["web-1"], "hosts_with_conditional_change": []},
        {"op_hash": "b", "name": "HAProxy | Reload HAProxy", "names": ["HAProxy | Reload HAProxy"],
         "hosts_with_change": ["web-1"], "hosts_with_conditional_change": []},
        {"op_hash": "c", "name": "Redis | ACL users /etc/redis/users.acl",
         "names": ["Redis | ACL users /etc/redis/users.acl"],
         "hosts_with_change": ["web-1"], "hosts_with_conditional_change": []},
        {"op_hash": "d", "name": "Firewall | Reload nftables",
         "names": ["Firewall | Reload nftables"],
         "hosts_with_change": [], "hosts_with_conditional_change": ["web-1"]},
        {"op_hash": "e", "name": "Base | Users", "names": ["Base | Users"],
         "hosts_with_change": [], "hosts_with_conditional_change": []},
    ]
}  # fmt: skip
# What the project's operations record for the plan (infra/operations.py).
RECORDS = [
    {"host": "web-1", "kind": "file", "path": "/etc/haproxy/haproxy.cfg", "action": "modify",
     "diff": ["@@ -1,3 +1,3 @@", " global", "-inter 2000ms", "+inter 3000ms"]},
    {"host": "web-1", "kind": "file", "path": "/etc/stray.conf", "action": "create",
     "diff": ["@@ -0,0 +1 @@", "+s3cret-value-123"]},
    {"host": "web-1", "kind": "file", "path": "/etc/redis/users.acl", "action": "modify",
     "diff": None},
    {"host": "web-1", "kind": "reason", "operation": "Reload HAProxy",
     "because": ["HAProxy configuration"]},
]  # fmt: skip


def test_redaction_replaces_a_secret_its_sha256_and_its_pem_lines():
    redact = Redactor({"redis_app_password": "s3cret-value-123", "haproxy_tls_pem": PEM})
    digest = hashlib.sha256(b"s3cret-value-123").hexdigest()
    text = redact(f"pw s3cret-value-123 hash {digest} key MIIEvQIBADANBgkqhkiG9w0BAQEFAASC")
    assert text == (
        "pw [secret redis_app_password] hash [secret redis_app_password] "
        "key [secret haproxy_tls_pem]"
    )


def test_redaction_keeps_the_pem_armour_lines_readable():
    assert Redactor({"haproxy_tls_pem": PEM})("-----END PRIVATE KEY-----") == (
        "-----END PRIVATE KEY-----"
    )


def _plan():
    return build("inventories/x.py", ["web-1", "web-2"], PLAN, RECORDS)


def _change(name: str):
    return next(c for c in _plan().hosts["web-1"] if name in c.operation)


def test_a_diff_belongs_to_the_operation_naming_its_path():
    assert _change("Config").diffs == [
        ("modify /etc/haproxy/haproxy.cfg", RECORDS[0]["diff"]),
    ]


def test_a_sensitive_file_is_listed_without_its_content():
    assert _change("ACL users").diffs == [
        ("modify /etc/redis/users.acl", ["(content not shown: it holds secrets)"])
    ]


def test_a_reload_is_a_change_with_its_reason():
    reload = _change("Reload HAProxy")
    assert (reload.kind, reload.because) == ("reload", ["HAProxy configuration"])


def test_a_host_without_changes_lists_nothing():
    assert _plan().hosts["web-2"] == []


def test_an_operation_pyinfra_decides_at_run_time_may_run():
    assert _change("nftables").kind == "maybe"


def test_a_diff_no_operation_names_is_still_shown():
    assert any("/etc/stray.conf" in c.operation for c in _plan().hosts["web-1"])


def test_the_summary_counts_hosts_changes_and_reloads():
    assert _plan().summary() == (
        "2 hosts, 1 changing: 5 operations to change, 0 restarts, 1 reload, 1 that may run"
    )


def test_unchanged_operations_are_collapsed():
    markdown = render(_plan())
    assert "<details><summary>1 operation unchanged on every host</summary>" in markdown


def test_the_markdown_shows_the_reason_and_the_diff():
    markdown = render(_plan())
    assert "  - because: HAProxy configuration changes" in markdown
    assert "    +inter 3000ms" in markdown


def test_a_plan_without_changes_says_so():
    quiet = {"plan": [PLAN["plan"][-1]]}
    assert build("inventories/x.py", ["web-1"], quiet, []).summary() == (
        "No changes: 1 host up to date."
    )


def test_the_plan_comment_is_found_by_its_marker():
    comments = [{"id": 1, "body": "looks good"}, {"id": 7, "body": render(_plan())}]
    assert existing_comment(comments) == 7


def test_without_a_plan_comment_a_new_one_is_made():
    assert existing_comment([{"id": 1, "body": "looks good"}]) is None


def test_a_plan_too_long_for_a_comment_is_cut_and_says_so():
    body = fit("x" * 70000)
    assert (len(body), body.endswith("in the job summary.\n")) == (LIMIT, True)


def test_the_redactor_knows_the_derived_redis_monitor_password():
    from types import SimpleNamespace

    from pydantic import SecretStr

    from infra.settings import Settings
    from infra.zabbix_items import redis_monitor_password
    from tools.redact import inventory_secrets

    admin = SecretStr("admin-password-0123456789")
    own = Settings.model_construct(secrets={"redis_admin_password": admin}, services={})
    redact = Redactor(inventory_secrets({"cache-1": SimpleNamespace(settings=own, name="c")}))
    derived = redis_monitor_password(admin).get_secret_value()
    assert derived not in redact(f"AUTH zabbix {derived}")
