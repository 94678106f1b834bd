"""The job summary of `make apply` (tools/apply.py) for a failed run."""

from tools.apply import markdown_summary

SWITCH = "Application | Switch event-bus to 1.1.0 (health-gated)"
FAILED_RUN = {
    "exit_code": 1,
    "results": {
        "operations": [{"name": SWITCH, "success": [], "error": ["app-2"]}],
        "totals": {"hosts": 2},
        "failed_hosts": ["app-2"],
    },
    "output_by_host": {
        "app-2": [
            "    [app-2]  FAILED: app-2: event-bus 1.1.0: instance 8003 did not start; "
            "rolled back to 1.0.0"
        ]
    },
}
EFFECT = {"host": "app-2", "kind": "effect", "effect": "switch", "because": [],
          "operation": "Switch event-bus to 1.1.0 (health-gated)", "service": "event-bus",
          "version": "1.1.0", "previous": "1.0.0"}  # fmt: skip


def test_a_failed_run_names_host_and_operation():
    summary = markdown_summary("inventories/lab.py", FAILED_RUN, 12.0, [EFFECT])
    assert "## Apply `inventories/lab.py`: failed" in summary
    assert f"- **FAILED** `app-2`: {SWITCH}" in summary


def test_a_failed_switch_names_service_version_and_what_serves():
    summary = markdown_summary("inventories/lab.py", FAILED_RUN, 12.0, [EFFECT])
    assert "release switch of event-bus to 1.1.0 failed and was rolled back: the previous " \
           "release, 1.0.0, is serving" in summary  # fmt: skip


def test_the_hosts_own_output_is_quoted():
    summary = markdown_summary("inventories/lab.py", FAILED_RUN, 12.0, [EFFECT])
    assert "instance 8003 did not start" in summary


def test_a_switch_of_another_host_is_not_claimed():
    other = {**EFFECT, "host": "app-1"}
    assert "release switch" not in markdown_summary("inventories/lab.py", FAILED_RUN, 1.0, [other])


def test_without_pyinfras_results_the_record_names_the_failed_operation():
    """pyinfra prints no results when every host failed; infra.effects.record_failures."""
    run = {**FAILED_RUN, "results": None}
    failed = {"host": "app-2", "kind": "failed", "names": [SWITCH]}
    summary = markdown_summary("inventories/lab.py", run, 12.0, [EFFECT, failed])
    assert f"- **FAILED** `app-2`: {SWITCH}" in summary
    assert "Failed hosts: app-2." in summary
    assert "the previous release, 1.0.0, is serving" in summary


def test_a_run_that_stopped_before_any_operation_quotes_pyinfras_last_lines():
    run = {"exit_code": 1, "results": None, "output_tail": ["app-1: memory budget: too much"]}
    summary = markdown_summary("inventories/lab.py", run, 1.0, [])
    assert "pyinfra stopped" in summary and "app-1: memory budget: too much" in summary


def test_a_quoted_line_cannot_end_the_code_block():
    run = {**FAILED_RUN, "output_by_host": {"app-2": ["```\n# injected heading"]}}
    summary = markdown_summary("inventories/lab.py", run, 1.0, [EFFECT])
    assert summary.count("```") == 2
