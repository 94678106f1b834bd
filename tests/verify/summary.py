"""A markdown summary of a tests/verify run, from pytest's JUnit XML, for a GitHub job summary.

    python -m tests.verify.summary verify.xml summary.md   (make verify-summary JUNIT=… SUMMARY=…)

The summary is appended to the second file (GitHub: $GITHUB_STEP_SUMMARY).
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ElementTree


def summary(junit_xml: str) -> str:
    cases = ElementTree.parse(junit_xml).getroot().iter("testcase")
    failed, passed = [], 0
    for case in cases:
        if case.find("failure") is not None or case.find("error") is not None:
            failed.append(f"{case.get('classname')}::{case.get('name')}")
        elif case.find("skipped") is None:
            passed += 1
    verdict = "failed" if failed else "passed"
    lines = [f"## Verify: {verdict}", "", f"{passed} passed, {len(failed)} failed.", ""]
    return "\n".join(lines + [f"- **FAILED** `{name}`" for name in failed]) + "\n"


if __name__ == "__main__":
    junit_xml, output = sys.argv[1:3]
    with open(output, "a") as file:
        file.write(summary(junit_xml))
