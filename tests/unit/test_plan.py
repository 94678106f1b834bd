"""The plan renderer's pure parts: redaction, diff parsing, reading the records, the markdown."""

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
# What the project's operations record for the plan (infra/operations.py), each naming its
# operation exactly as its `name=` (pyinfra's JSON adds the deploy's name in front).
RECORDS = [
    {"host": "web-1", "kind": "file", "operation": "Config /etc/haproxy/haproxy.cfg",
     "path": "/etc/haproxy/haproxy.cfg", "action": "modify",
     "diff": ["@@ -1,3 +1,3 @@", " global", "-inter 2000ms", "+inter 3000ms"]},
    {"host": "web-1", "kind": "file", "operation": "Stray file", "path": "/etc/stray.conf",
     "action": "create", "diff": ["@@ -0,0 +1 @@", "+s3cret-value-123"]},
    {"host": "web-1", "kind": "file", "operation": "ACL users /etc/redis/users.acl",
     "path": "/etc/redis/users.acl", "action": "modify", "diff": None},
    {"host": "web-1", "kind": "effect", "operation": "Reload HAProxy", "effect": "reload",
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


def test_a_diff_belongs_to_the_operation_its_record_names():
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


def test_a_diff_of_an_operation_pyinfra_does_not_list_is_still_shown_apart():
    (stray,) = [c for c in _plan().hosts["web-1"] if "Stray file" in c.operation]
    assert (stray.operation, stray.kind, stray.diffs) == (
        "(recorded for an operation pyinfra does not list as changing) Stray file",
        "change",
        [("create /etc/stray.conf", RECORDS[1]["diff"])],
    )


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


def _op(name: str) -> dict:
    return {"op_hash": name, "name": name, "names": [name], "hosts_with_change": ["web-1"],
            "hosts_with_conditional_change": []}  # fmt: skip


# Names that would mislead a reader of names: the record alone decides kind and owner.
RENAMED = {
    "plan": [
        _op("Base | Restart everything"),
        _op("Base | Update x"),
        _op("Base | Config /etc/sudoers.d/operators"),
        _op("Base | Sudoers of the operators"),
        _op("Application | Roll frontend forward"),
    ]
}
RENAMED_RECORDS = [
    {"host": "web-1", "kind": "effect", "operation": "Update x", "effect": "reload",
     "because": ["x configuration"]},
    {"host": "web-1", "kind": "file", "operation": "Sudoers of the operators",
     "path": "/etc/sudoers.d/operators", "action": "modify",
     "diff": ["@@ -1 +1 @@", "-alice ALL=(ALL) ALL", "+bob ALL=(ALL) ALL"]},
    {"host": "web-1", "kind": "effect", "operation": "Roll frontend forward", "effect": "switch",
     "because": ["environment file"]},
]  # fmt: skip


def _renamed() -> dict:
    plan = build("inventories/x.py", ["web-1"], RENAMED, RENAMED_RECORDS)
    return {c.operation.split(" | ", 1)[1]: c for c in plan.hosts["web-1"]}


def test_a_name_saying_restart_without_an_effect_record_is_a_plain_change():
    restart = _renamed()["Restart everything"]
    assert (restart.kind, restart.because) == ("change", [])


def test_a_reload_record_makes_a_reload_whatever_the_operation_is_named():
    update = _renamed()["Update x"]
    assert (update.kind, update.because) == ("reload", ["x configuration"])


def test_a_diff_attaches_to_the_operation_its_record_names_not_to_one_naming_its_path():
    changes = _renamed()
    assert changes["Sudoers of the operators"].diffs == [
        ("modify /etc/sudoers.d/operators", RENAMED_RECORDS[1]["diff"])
    ]
    assert changes["Config /etc/sudoers.d/operators"].diffs == []


def test_a_switch_says_switch_and_counts_as_a_restart():
    plan = build("inventories/x.py", ["web-1"], RENAMED, RENAMED_RECORDS)
    assert "- **switch** Application | Roll frontend forward" in render(plan)
    assert plan.summary() == "1 host, 1 changing: 5 operations to change, 1 restart, 1 reload"


def test_an_effect_recorded_for_an_operation_pyinfra_does_not_list_is_shown_apart():
    records = [{"host": "web-1", "kind": "effect", "operation": "Restart y", "effect": "restart",
                "because": ["y configuration"]}]  # fmt: skip
    (change,) = build("inventories/x.py", ["web-1"], {"plan": []}, records).hosts["web-1"]
    assert (change.operation, change.kind, change.because) == (
        "(recorded for an operation pyinfra does not list as changing) restart Restart y",
        "change",
        ["y configuration"],
    )


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


def test_the_redactor_knows_every_services_derived_password():
    from types import SimpleNamespace

    from pydantic import SecretStr

    from infra.credentials import service_password
    from infra.settings import SERVICES, Settings
    from tools.redact import inventory_secrets

    masters = {"postgresql_app_password": SecretStr("pg-master-0123456789abc"),
               "redis_app_password": SecretStr("redis-master-0123456789")}  # fmt: skip
    own = Settings.model_construct(secrets=masters, services={})
    redact = Redactor(inventory_secrets({"db-1": SimpleNamespace(settings=own, name="d")}))
    for service in SERVICES:
        for name, store in (
            ("postgresql_app_password", "postgresql"),
            ("redis_app_password", "redis"),
        ):
            derived = service_password(masters[name], store, service).get_secret_value()
            assert derived not in redact(f"password={derived}"), (store, service)
