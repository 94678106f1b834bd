"""Settings of the application hosts (group app). See docs/settings.md.

`services` belongs to the app hosts: HAProxy, the firewall and Zabbix read it from them.
The seeds' ports and limits are the defaults; set here only what differs. A service runs
once it has a version, e.g.
    services = {"frontend": {"version": "1.4.0", "instances": 2}}
Where the wheels come from: `releases` (wheelhouse or index_url).
"""

services = {}
