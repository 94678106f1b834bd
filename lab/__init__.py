"""The project's LXC test lab: real Debian 12 containers running systemd on a private bridge.

`python -m lab up|down|status|ssh HOST` — see docs/testing.md, section "The lab".
"""
