"""logrotate for the platform's logs (all hosts): the seeds' policy, checked before it goes live.

Settings: `platform.log_dir` and `platform.user`. The instances' output goes to
`<log_dir>/<service>-<port>.log` (deploys/app.py); rotation copies and truncates, so the
services keep writing without being restarted or signalled.
"""

from pyinfra.api import deploy

from facts.snapshot import Read, files_in
from infra.hostdata import settings
from infra.services import LOG_READERS
from infra.templating import put_rendered

CONFIG = "/etc/logrotate.d/aktienanalyse"


# Installed with every other deploy's by deploys/base.py, in one apt transaction.
PACKAGES = ["logrotate"]


def facts(own) -> list[Read]:
    return files_in("/etc/logrotate.d")


@deploy("logrotate")
def apply() -> None:
    own = settings()
    put_rendered(
        CONFIG,
        {"log_dir": own.platform.log_dir, "user": own.platform.user, "group": LOG_READERS},
        name=f"Rotation policy {CONFIG} (checked by logrotate -d)",
        check="! logrotate -d {path} 2>&1 | grep '^error:'",
        mode=644,
    )
