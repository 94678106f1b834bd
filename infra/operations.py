"""Operations this project adds to pyinfra's own: checked files, accounts, services, releases.

A checked file's change is recorded for the plan with its diff, under the exact name of the
operation that writes it: {"host", "kind": "file", "operation", "path", "action", "diff"
(null: sensitive)} (`_show_diff`); restarts, reloads and switches are recorded in
infra/effects.py. The plan reads those records, never pyinfra's human output nor a name.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import os
import shlex
from io import StringIO
from typing import Any
from urllib.parse import urlsplit

from pydantic import SecretStr
from pyinfra import host, logger, state
from pyinfra.api import FileUploadCommand, StringCommand, operation
from pyinfra.api.exceptions import OperationValueError
from pyinfra.api.operation import OperationMeta
from pyinfra.facts.files import FileContents
from pyinfra.operations import files, server, systemd

from facts.accounts import group_exists, user_matches
from facts.files import file_state, path_state, regular_files
from facts.once import read_once
from facts.packages import InstalledPackages
from facts.postgresql import PostgresqlExtensions, PostgresqlRoleVerifier
from facts.systemd import unit_state
from facts.uploads import PrivateUploadDir
from infra.effects import PLAN_RECORD, record_for_plan
from infra.scram import make_verifier, matches
from infra.services import SWITCH

PSQL = "runuser -u postgres -- psql -XAtq -v ON_ERROR_STOP=1"


def unified_diff(current: list[str], wanted: list[str]) -> list[str]:
    """Unified diff lines (hunks only, no file headers) from one text to another."""
    lines = difflib.unified_diff(current, wanted, lineterm="", n=3)
    return [line.rstrip("\n") for line in lines][2:]


def checked_file(name: str, dest: str, content: str, **kwargs: Any) -> OperationMeta:
    """`write_checked_file` named `name`, its plan record too (an operation cannot read its own
    `name=`). ``kwargs``: check, user, group, mode, sensitive, pyinfra's global arguments."""
    return write_checked_file(name=name, op_name=name, dest=dest, content=content, **kwargs)


@operation()
def write_checked_file(
    op_name: str,
    dest: str,
    content: str,
    check: str | None = None,
    user: str = "root",
    group: str = "root",
    mode: int | str = 644,
    sensitive: bool = False,
):
    """
    Install ``content`` at ``dest`` atomically, after ``check`` (if given) accepts it.

    + op_name: the operation's own ``name=``, for the plan record (`checked_file` passes it)
    + dest: the live path
    + content: the desired file content
    + check: a shell command with ``{path}``, run against a staged copy (e.g. ``visudo -cf {path}``)
    + user, group, mode: ownership and mode of the live file
    + sensitive: the content holds secrets (or hashes of them): ``--diff`` never shows it

    Whether the live file is as wanted comes from the snapshot's listing of its directory, or
    from reading that one entry (facts/files.py). The staged copy sits in a root-only directory
    on the same file system as ``dest`` (`staging_path`), so no other account can plant a link
    where root writes, changes ownership or checks; under sudo the upload passes through the
    SSH user's private directory (facts/uploads.py), never /tmp. One `mv -T` (a rename, which
    replaces a link at ``dest`` rather than following it) makes it live once the check passes.
    When the check fails the staged copy is removed, the live file is untouched and the
    operation fails with the check's output.
    """
    wanted = {
        "mode": mode_int(mode),
        "user": user,
        "group": group,
        "sha1": hashlib.sha1(content.encode()).hexdigest(),
    }
    remote = file_state(dest)
    if remote == wanted:
        host.noop(f"{dest} is up to date")
        return

    if not state.is_executing and (state.config.DIFF or os.environ.get(PLAN_RECORD)):
        _show_diff(op_name, dest, bool(remote), content, sensitive)

    staged = staging_path(dest)
    quoted, directory = shlex.quote(staged), shlex.quote(staged.rsplit("/", 1)[0])
    parent = shlex.quote(dest.rsplit("/", 1)[0] or "/")
    # rename(2) only within one file system; mv would silently fall back to copying.
    yield StringCommand(
        f"install -d -o root -g root -m 700 {directory} && "
        f'[ "$(stat -c %d {directory})" = "$(stat -c %d {parent})" ] || '
        f"{{ echo {shlex.quote(f'{dest}: staged on another file system')} >&2; exit 1; }}"
    )
    yield from _upload_root_only(content, staged)
    yield StringCommand(f"chown {shlex.quote(f'{user}:{group}')} {quoted}")
    yield StringCommand(f"chmod {wanted['mode']} {quoted}")
    if check:
        command = check.replace("{path}", quoted)  # not str.format: a check may hold braces
        yield StringCommand(f"{command} || {{ rm -f {quoted}; exit 1; }}")
    yield StringCommand(f"mv -fT {quoted} {shlex.quote(dest)}")


STAGING_DIR = ".aktienanalyse-staging"


def _upload_root_only(content: str, staged: str):
    """Commands that put ``content`` at ``staged`` (in a staging directory), root's 0600 before
    any content reaches it. Under sudo the upload waits in a directory only the SSH user can
    enter, named like the staged file, then sudo copies it over (cp keeps the file's mode)."""
    private = host.get_fact(PrivateUploadDir, _sudo=False)
    yield StringCommand(f"install -m 600 /dev/null {shlex.quote(staged)}")
    yield FileUploadCommand(
        StringIO(content), staged, remote_temp_filename=f"{private}/{staged.rsplit('/', 1)[1]}"
    )


def with_secret_input(name: str, content: str, command: str):
    """Commands that run `command` (a shell command) with ``content`` on its standard input:
    the content goes up as a file in root's staging directory (/etc's; under sudo through the
    SSH user's private directory), never on a command line, where `ps`, sudo's log and
    pyinfra's -vvv would show it; it is removed whether or not the command succeeds.
    ``name`` tells the staged files apart."""
    staged = staging_path(f"/etc/{name}")
    quoted = shlex.quote(staged)
    directory = shlex.quote(staged.rsplit("/", 1)[0])
    yield StringCommand(f"install -d -o root -g root -m 700 {directory}")
    yield from _upload_root_only(content, staged)
    yield StringCommand(f"{command} < {quoted}; rc=$?; rm -f {quoted}; exit $rc")


def mode_int(mode: int | str) -> int:
    """A mode as the listings give it: 644 for 644, "644" or "0644"."""
    return int(str(mode).lstrip("0") or "0")


def staging_path(dest: str) -> str:
    """Where `checked_file` stages ``dest``: ``/<top>/.aktienanalyse-staging/<sha1 of dest>``,
    ``<top>`` being dest's top-level directory (/etc, /opt, /usr): root's, and on dest's file
    system in any usual layout (the operation refuses otherwise)."""
    top = dest.lstrip("/").split("/", 1)[0]
    return f"/{top}/{STAGING_DIR}/{hashlib.sha1(dest.encode()).hexdigest()}"


@operation()
def mirrored_files(src: str, dest: str, exclude: tuple[str, ...] = ()):
    """
    Make the directory ``dest`` hold exactly the regular files of the local ``src``, root's, 0644.

    + src: a local directory (e.g. the wheelhouse the wheels are built into)
    + dest: an existing remote directory the operation owns
    + exclude: local file names not to copy

    One listing of ``dest`` with checksums decides (facts/files.py), where pyinfra's files.sync
    asks about every file: a no-op costs one command however many releases the wheelhouse
    keeps. Changed or new files are uploaded, files that are not in ``src`` are removed.
    """
    present = regular_files(dest)
    wanted = {
        entry.name: {
            "mode": 644,
            "user": "root",
            "group": "root",
            "sha1": _sha1_of(entry.path, entry.stat().st_mtime_ns),
        }
        for entry in sorted(os.scandir(src), key=lambda e: e.name)
        if entry.is_file(follow_symlinks=False) and entry.name not in exclude
    }
    changed = [name for name, file in wanted.items() if present.get(name) != file]
    stale = sorted(set(present) - set(wanted))
    if not (changed or stale):
        host.noop(f"{dest} holds the {len(wanted)} files")
        return
    # Under sudo an upload waits in the SSH user's private directory, not in /tmp.
    private = host.get_fact(PrivateUploadDir, _sudo=False) if changed else None
    for name in changed:
        target = f"{dest}/{name}"
        yield FileUploadCommand(
            f"{src}/{name}",
            target,
            remote_temp_filename=f"{private}/{hashlib.sha1(target.encode()).hexdigest()}",
        )
        yield StringCommand(f"chown root:root {shlex.quote(target)}")
        yield StringCommand(f"chmod 644 {shlex.quote(target)}")
    if stale:
        yield "rm -f -- " + shlex.join(f"{dest}/{name}" for name in stale)


@functools.cache
def _sha1_of(path: str, mtime_ns: int) -> str:
    """A local file's SHA-1, computed once per version of it (every host asks, twice)."""
    with open(path, "rb") as file:
        return hashlib.file_digest(file, "sha1").hexdigest()


def unit_check(unit: str) -> str:
    """A `checked_file` check for a systemd unit: `systemd-analyze verify` of the staged copy
    under its own name. verify exits 0 on an unknown key or an invalid value ("ignoring"),
    so any line it prints about the file itself fails the check; complaints about other
    units (e.g. a release not installed yet) do not."""
    name = shlex.quote(unit)
    return (
        f'(dir=$(mktemp -d) && cp {{path}} "$dir"/{name} || exit 1; '
        f'found=$(systemd-analyze verify "$dir"/{name} 2>&1); rm -rf "$dir"; '
        f'! printf "%s\\n" "$found" | grep -F /{name}: >&2)'
    )


def _show_diff(op_name: str, dest: str, exists: bool, content: str, sensitive: bool) -> None:
    """Print the change for `--diff` and record it for the plan, with the name of the operation
    that writes it (content hidden if sensitive): the one place a file change is recorded."""
    action = "modify" if exists else "create"
    diff = None
    if not sensitive:
        current = host.get_fact(FileContents, path=dest) or [] if exists else []
        diff = unified_diff([f"{line}\n" for line in current], content.splitlines(keepends=True))
    record_for_plan(kind="file", operation=op_name, path=dest, action=action, diff=diff)
    if state.config.DIFF:
        logger.info(f"{host.print_prefix}{action} {dest}")
        for line in diff if diff is not None else ["(content not shown: it holds secrets)"]:
            logger.info(f"  {line}")


@operation()
def debian_packages(packages: list[str]):
    """
    Install the missing ones of a host's Debian packages in one apt transaction.

    + packages: every package the host needs (deploys/all.py collects them once per host)

    A host that has them all costs one dpkg-query, none when facts/snapshot.py read it. apt's
    index is refreshed only when something is to be installed, right before it; conffiles a
    package ships over ours are kept as they are (`--force-confold`), the deploys write them
    afterwards anyway. The security updates pending then are installed too, so a new host
    starts patched (later ones come with unattended-upgrades, in the window).
    """
    missing = sorted(set(packages) - set(read_once(InstalledPackages, packages=sorted(packages))))
    if not missing:
        host.noop(f"{len(packages)} Debian packages are installed")
        return
    apt = (
        "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "
        "-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold"
    )
    yield "apt-get update -qq"
    yield f"{apt} {shlex.join(missing)}"
    # A new host starts patched: the security updates pending now, not in the next window.
    yield (
        "pending=$(apt-get -s dist-upgrade | awk '/^Inst .*Debian-Security/ {print $2}'); "
        f'[ -z "$pending" ] || {apt} --only-upgrade $pending'
    )


def ensure_directory(name: str, path: str, user: str, group: str, mode: int | str):
    """files.directory, called only when `path` is not yet a directory with this owner and
    mode (its parent's listing, read once per run: facts/files.py)."""
    if _is(path_state(path), "d", user, group, mode):
        return None
    return files.directory(name=name, path=path, user=user, group=group, mode=mode)


def ensure_stat_override(name: str, path: str, user: str, group: str, mode: int | str, kind: str):
    """Owner and mode of a path a Debian package installs (kind "d" or "f", as the listings
    give it), set through a dpkg stat override so that upgrades of the package keep them;
    called only when the path is not yet so."""
    if _is(path_state(path), kind, user, group, mode):
        return None
    words = ["dpkg-statoverride", "--force-statoverride-add", "--update", "--add"]
    command = shlex.join([*words, user, group, str(mode_int(mode)), path])
    return server.shell(name=name, commands=[command])


def ensure_absent(name: str, path: str) -> OperationMeta | None:
    """files.file (absent), called only when something is at `path` (its parent's listing,
    read once per run: facts/files.py). Not for a path a package installed in the same run
    may create: the listing was read before the packages were installed."""
    if path_state(path) is None:
        return None
    return files.file(name=name, path=path, present=False)


def ensure_file(name: str, path: str, user: str, group: str, mode: int | str):
    """files.file (present, content left alone), called only when `path` is not yet a regular
    file with this owner and mode."""
    if _is(path_state(path), "f", user, group, mode):
        return None
    return files.file(name=name, path=path, user=user, group=group, mode=mode)


def _is(found: dict | None, kind: str, user: str, group: str, mode: int | str) -> bool:
    wanted = (kind, user, group, mode_int(mode))
    return (
        found is not None
        and (found["type"], found["user"], found["group"], found["mode"]) == wanted
    )


def ensure_group(name: str, group: str, **kwargs) -> OperationMeta | None:
    """server.group, called only when the group is missing (facts/accounts.py)."""
    return None if group_exists(group) else server.group(name=name, group=group, **kwargs)


def ensure_user(name: str, user: str, **kwargs) -> OperationMeta | None:
    """server.user without public keys, called only when the account differs from what it
    would make of it (facts/accounts.py): a no-op converge sends no command for it."""
    wanted = {key: kwargs.get(key) for key in ("home", "shell", "group", "groups")}
    if user_matches(user, append=kwargs.get("append", False), **wanted):
        return None
    return server.user(name=name, user=user, **kwargs)


def ensure_service(
    name: str, service: str, running: bool | None = None, enabled: bool | None = None
) -> OperationMeta | None:
    """systemd.service to start and/or enable a unit, called only when the units read once per
    run (facts/systemd.py) show it is not yet active/enabled."""
    found = unit_state(service, file_state=enabled is not None)
    if (running is None or found["active"] == "active") and (
        enabled is None or found["file"] == "enabled"
    ):
        return None
    return systemd.service(name=name, service=service, running=running, enabled=enabled)


@operation()
def role_password(role: str, password: SecretStr):
    """
    Set a role's password only when the stored SCRAM verifier was not made from it.

    + role: the login role
    + password: the wanted password; a freshly salted verifier is sent, never the password
    """
    if matches(password.get_secret_value(), read_once(PostgresqlRoleVerifier, role=role)):
        host.noop(f"password of {role} is up to date")
        return
    verifier = make_verifier(password.get_secret_value())
    # Dollar-quoted: a verifier holds '$' but never '$verifier$'.
    sql = f'ALTER ROLE "{role}" PASSWORD $verifier${verifier}$verifier$;\n'
    yield from with_secret_input(f"role-password-{role}.sql", sql, PSQL)


@operation()
def extension(database: str, extension: str):
    """
    Create an extension in a database unless it is there.

    + database: an existing database
    + extension: the extension's name, e.g. pg_stat_statements
    """
    if extension in read_once(PostgresqlExtensions, database=database):
        host.noop(f"extension {extension} exists in {database}")
        return
    sql = f'CREATE EXTENSION IF NOT EXISTS "{extension}"'
    yield f"{PSQL} -d {shlex.quote(database)} -c {shlex.quote(sql)}"


@operation()
def install_release(
    base_dir: str,
    service: str,
    version: str,
    requirements: list[str],
    installed: list[str],
    index_url: str | None = None,
):
    """
    Install a release into a new venv (without pip; the host's pip installs into it), offline
    from the host's wheelhouse.

    + base_dir: the platform's base directory
    + service, version: what to install
    + requirements: pip requirement lines (with --hash when pinned)
    + installed: versions already complete on the host (from the Releases fact)
    + index_url: download the wheels from this package index into the wheelhouse first

    A directory without the `.complete` marker is a leftover of an interrupted install and is
    rebuilt; a complete one is never modified.
    """
    if version in installed:
        host.noop(f"{service} {version} is installed")
        return
    if not (service and version):  # rm -rf below must never name releases/<service>/ itself
        raise OperationValueError("install_release needs a service and a version")
    q = shlex.quote
    target = q(f"{base_dir}/releases/{service}/{version}")
    wheelhouse = q(f"{base_dir}/wheelhouse")
    lines = " ".join(q(line) for line in requirements)
    hashed = any("--hash=" in line for line in requirements)
    requirements_file = q(f"{base_dir}/releases/{service}/{version}/requirements.txt")
    wanted = f"--require-hashes -r {requirements_file}" if hashed else lines
    # The host's pip (python3-pip) installs into a venv without one of its own: a venv with
    # pip would run ensurepip for every release, and a release needs no installer.
    pip = f"python3 -m pip --python {target}/bin/python"
    yield f"rm -rf {target} && mkdir -p {q(f'{base_dir}/releases/{service}')}"
    yield f"python3 -m venv --without-pip {target}"
    if hashed:
        yield f"printf '%s\\n' {lines} > {requirements_file}"
    if index_url:
        index = f"--index-url {shlex.quote(index_url)}"
        if index_url.startswith("http://"):  # pip refuses plain HTTP unless told (lab index)
            index += f" --trusted-host {shlex.quote(urlsplit(index_url).hostname or '')}"
        yield f"{pip} download -q -d {wheelhouse} {index} {wanted}"
    yield f"{pip} install -q --no-index --find-links {wheelhouse} {wanted}"
    yield f"touch {q(f'{base_dir}/releases/{service}/{version}/.complete')}"


@operation()
def switch_release(service: str, version: str, ports: list[int], migrate: bool):
    """
    Run aktienanalyse-switch for one service as a transient systemd unit and wait for it.

    + service, version: the release to make live
    + ports: its instances, restarted in this order
    + migrate: run aktienanalyse-migration.service first (core, on the migrating host)

    The unit outlives a killed deploy, so the switch always finishes or rolls back. Its
    output (the reason, when it failed) is printed from the journal.
    """
    unit = shlex.quote(f"aktienanalyse-switch-{service}")
    words = [service, version, "yes" if migrate else "no", *map(str, ports)]
    args = " ".join(shlex.quote(word) for word in words)
    yield (
        f"unit={unit}-$(date +%s%N); "
        f"systemd-run --quiet --wait --collect --unit=$unit {SWITCH} {args}; rc=$?; "
        "journalctl --sync; journalctl -q -o cat -u $unit; exit $rc"
    )


@operation()
def barrier(reason: str):
    """
    Nothing, on every host: pyinfra orders operations per host only, so one operation that all
    hosts share is where every host arrives before any goes on (all.py: data before releases).

    + reason: what the hosts wait for
    """
    host.noop(reason)
    yield from ()
