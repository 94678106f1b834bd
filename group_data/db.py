"""Settings of the database hosts (group db, PostgreSQL 15). See docs/settings.md.

`postgresql` belongs to the db hosts: the app hosts read its databases and roles from them.
Its model and defaults: infra/settings/postgresql.py; the tuning from the host's memory and
CPUs: infra/tuning.py. Backups (pgBackRest): `backup` in group_data/all.py.
"""

postgresql = {}
