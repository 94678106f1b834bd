"""logrotate for the platform's logs (all hosts): the seeds' policy, checked before it goes live.

Settings: `platform.log_dir` and `platform.user`. The instances' output goes to
`<log_dir>/<service>-<port>.log` (deploys/app.py); rotation copies and truncates, so the
services keep writing without being restarted or signalled.
"""

from pyinfra import host
from pyinfra.api import deploy

from deploys.base import LOG_READERS
from deploys.operations import apt_install, checked_file
from deploys.settings import Settings
from deploys.templating import render

CONFIG = "/etc/logrotate.d/aktienanalyse"


@deploy("logrotate")
def apply() -> None:
    settings: Settings = host.data.settings
    apt_install("logrotate", ["logrotate"])
    checked_file(
        name=f"Rotation policy {CONFIG} (checked by logrotate -d)",
        dest=CONFIG,
        content=render(
            CONFIG,
            log_dir=settings.platform.log_dir,
            user=settings.platform.user,
            group=LOG_READERS,
        ),
        check="! logrotate -d {path} 2>&1 | grep '^error:'",
        mode=644,
    )
