"""The plan renderer's pure parts: redaction, diff parsing, deciding reloads, the markdown."""

import hashlib

from deploys.plan import Redactor, build, parse_diffs, render
from deploys.plan_comment import LIMIT, existing_comment, fit

PEM = (
    "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nqnX1\n-----END PRIVATE KEY-----"
)

# What pyinfra prints with --diff (colours included), as files.put and checked_file do.
STDERR = """--> Preparing operation files...
    [\x1b[1mweb-1\x1b[0m] Will modify /etc/haproxy/haproxy.cfg
      @@ -1,3 +1,3 @@
        global
      \x1b[31m- inter 2000ms\x1b[0m
      \x1b[32m+ inter 3000ms\x1b[0m
\x20\x20\x20\x20
    [web-1] Will create /etc/stray.conf
      @@ -0,0 +1 @@
      + s3cret-value-123
\x20\x20\x20\x20
    [web-1] Will modify /etc/redis/users.acl
      (content not shown: it holds secrets)
\x20\x20\x20\x20
    [web-1] Ready: deploys/all.py
"""

PLAN = {
    "plan": [
        {"op_hash": "a", "name": "HAProxy | Config /etc/haproxy/haproxy.cfg",
         "hosts_with_change": ["web-1"], "hosts_with_conditional_change": []},
        {"op_hash": "b", "name": "HAProxy | Reload HAProxy",
         "hosts_with_change": [], "hosts_with_conditional_change": ["web-1", "web-2"]},
        {"op_hash": "c", "name": "Redis | ACL users /etc/redis/users.acl",
         "hosts_with_change": ["web-1"], "hosts_with_conditional_change": []},
        {"op_hash": "d", "name": "Firewall | Reload nftables",
         "hosts_with_change": [], "hosts_with_conditional_change": ["web-1"]},
        {"op_hash": "e", "name": "Base | Users",
         "hosts_with_change": [], "hosts_with_conditional_change": []},
    ]
}  # fmt: skip
NOTES = [
    {"host": "web-1", "op": "b", "watched": ["a"]},
    {"host": "web-2", "op": "b", "watched": ["a"]},
]


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


def test_diffs_are_read_per_host_and_path_without_colours():
    diffs = parse_diffs(STDERR)["web-1"]
    assert diffs[0] == (
        "modify /etc/haproxy/haproxy.cfg",
        ["@@ -1,3 +1,3 @@", " global", "-inter 2000ms", "+inter 3000ms"],
    )


def test_a_sensitive_file_is_listed_without_its_content():
    assert ("modify /etc/redis/users.acl", ["(content not shown: it holds secrets)"]) in (
        parse_diffs(STDERR)["web-1"]
    )


def _plan():
    return build("inventories/x.py", ["web-1", "web-2"], PLAN, STDERR, NOTES)


def test_a_reload_runs_where_what_it_watches_changes():
    names = [change.operation for change in _plan().hosts["web-1"]]
    assert "HAProxy | Reload HAProxy" in names


def test_a_reload_does_not_run_where_nothing_it_watches_changes():
    assert _plan().hosts["web-2"] == []


def test_a_reload_names_its_reason():
    reload = next(c for c in _plan().hosts["web-1"] if c.kind == "reload")
    assert reload.because == ["HAProxy | Config /etc/haproxy/haproxy.cfg"]


def test_a_condition_without_a_note_may_run():
    firewall = next(c for c in _plan().hosts["web-1"] if "nftables" in c.operation)
    assert firewall.kind == "maybe"


def test_a_diff_belongs_to_the_operation_naming_its_path():
    config = _plan().hosts["web-1"][0]
    assert [header for header, _ in config.diffs] == ["modify /etc/haproxy/haproxy.cfg"]


def test_a_diff_no_operation_names_is_still_shown():
    assert any("/etc/stray.conf" in c.operation for c in _plan().hosts["web-1"])


def test_the_summary_counts_hosts_changes_and_reloads():
    assert _plan().summary() == (
        "2 hosts, 1 changing: 5 operations to change, 0 restarts, 1 reload, 1 that may run"
    )


def test_unchanged_operations_are_collapsed():
    markdown = render(_plan())
    assert "<details><summary>1 operation unchanged on every host</summary>" in markdown


def test_a_plan_without_changes_says_so():
    quiet = {"plan": [PLAN["plan"][-1]]}
    assert build("inventories/x.py", ["web-1"], quiet, "", []).summary() == (
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
