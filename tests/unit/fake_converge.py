"""Converge an inventory against pyinfra's own `@fake` connector and record what it sends.

    python -m tests.unit.fake_converge <inventory> <record.jsonl>

Every host connects through a FakeConnector (each command succeeds with no output, unless the
host's facts below answer it), so the real deploys run end to end, facts included, without
any host. Each command is appended to the record as the host's shell would get it (secrets
unmasked), and each uploaded file with its content. pyinfra's CLI package patches the
interpreter (gevent) on import, hence a child process.
"""

from __future__ import annotations

import json
import os
import re
import sys
from io import IOBase

os.environ["PYINFRA_FAKE_DELAY"] = "0"  # read when pyinfra's fake connector is imported
os.environ["PYINFRA_FAKE_DELAY_JITTER"] = "0"

import pyinfra.api.inventory
from pyinfra.connectors.fake import FakeConnector
from pyinfra.connectors.util import CommandOutput, OutputLine

RECORD = sys.argv[2] if __name__ == "__main__" else os.devnull


def _append(entry: dict) -> None:
    with open(RECORD, "a") as record:
        record.write(json.dumps(entry) + "\n")


# What a fresh Debian host answers where an empty answer would not do (substring -> stdout).
ANSWERS = {
    'grep "^MemTotal:" /proc/meminfo': ["MemTotal:       8388608 kB", "nproc 4"],
    "/proc/sys/vm/overcommit_memory": ["1", "read-only"],
    "uname -s": ["Linux"],
    "cat /proc/self/mountinfo": [  # backup.path is a mount of its own
        "30 1 0:26 / / rw,relatime - overlay overlay rw",
        "40 30 8:1 /backup /srv/backup rw,relatime - ext4 /dev/sda1 rw",
    ],
    ".aktienanalyse-upload": ["/home/ops/.aktienanalyse-upload"],
}


class RecordingConnector(FakeConnector):
    """pyinfra's fake connector, recording raw commands and uploaded content."""

    def _lookup_response(self, command_str):
        stdout = next((out for key, out in ANSWERS.items() if key in command_str), None)
        which = re.fullmatch(r"command -v (\S+) \|\| true", command_str)
        if which:  # every tool a deploy asks for is installed
            stdout = [f"/usr/bin/{which[1]}"]
        if stdout is None:
            return super()._lookup_response(command_str)
        return True, CommandOutput([OutputLine("stdout", line) for line in stdout])

    def run_shell_command(self, command, print_output=False, print_input=False, **arguments):
        raw = command if isinstance(command, str) else command.get_raw_value()
        _append({"host": self.host.name, "command": raw})
        return super().run_shell_command(command, print_output, print_input, **arguments)

    def put_file(self, filename_or_io, remote_filename, remote_temp_filename=None,
                 print_output=False, print_input=False, **arguments):  # fmt: skip
        if isinstance(filename_or_io, IOBase):
            content = filename_or_io.read()
            filename_or_io.seek(0)
        else:
            with open(filename_or_io, "rb") as file:
                content = file.read()
        if isinstance(content, bytes):
            content = content.decode(errors="replace")
        _append({"host": self.host.name, "upload": remote_filename, "content": content})
        return super().put_file(filename_or_io, remote_filename, remote_temp_filename,
                                print_output, print_input, **arguments)  # fmt: skip


def main() -> None:
    connectors = pyinfra.api.inventory.get_execution_connectors
    pyinfra.api.inventory.get_execution_connectors = lambda: {
        **connectors(),
        "ssh": RecordingConnector,
    }
    from pyinfra_cli.main import main as pyinfra_main

    sys.argv = ["pyinfra", "-y", sys.argv[1], "deploys/all.py"]
    pyinfra_main()


if __name__ == "__main__":
    main()
