"""Post a rendered plan as the pull request's plan comment: one comment, updated on each push.

    python -m tools.plan_comment --pr 42 plan.md      (make plan-comment PR=42)

Needs GITHUB_TOKEN (pull-requests: write) and GITHUB_REPOSITORY ("owner/name"), as GitHub
Actions provides them. The comment is recognised by the marker the plan starts with.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import requests

from tools.plan import MARKER

API = os.environ.get("GITHUB_API_URL", "https://api.github.com")
LIMIT = 65000  # GitHub refuses comments over 65,536 characters


def fit(body: str) -> str:
    """The plan, cut to what a comment may hold, saying so when cut."""
    if len(body) <= LIMIT:
        return body
    note = "\n\n… plan cut to fit a comment; the whole plan is in the job summary.\n"
    return body[: LIMIT - len(note)] + note


def existing_comment(comments: list[dict]) -> int | None:
    """The id of the plan comment among a pull request's comments, if there is one."""
    return next((c["id"] for c in comments if c.get("body", "").startswith(MARKER)), None)


def post(repository: str, pr: int, body: str, token: str) -> str:
    session = requests.Session()
    session.headers.update(
        {"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json"}
    )
    url = f"{API}/repos/{repository}/issues/{pr}/comments"
    comments: list[dict] = []
    page = 1
    while True:
        response = session.get(url, params={"per_page": 100, "page": page}, timeout=30)
        response.raise_for_status()
        comments += response.json()
        if len(response.json()) < 100:
            break
        page += 1
    comment_id = existing_comment(comments)
    if comment_id is None:
        response = session.post(url, json={"body": fit(body)}, timeout=30)
    else:
        response = session.patch(
            f"{API}/repos/{repository}/issues/comments/{comment_id}",
            json={"body": fit(body)},
            timeout=30,
        )
    response.raise_for_status()
    return response.json()["html_url"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pr", type=int, required=True)
    parser.add_argument("plan")
    args = parser.parse_args(argv)
    body = Path(args.plan).read_text()
    if not body.startswith(MARKER):
        raise SystemExit(f"{args.plan} is not a plan rendered by tools.plan")
    url = post(os.environ["GITHUB_REPOSITORY"], args.pr, body, os.environ["GITHUB_TOKEN"])
    print(f"plan comment: {url}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
