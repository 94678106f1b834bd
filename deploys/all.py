"""Converge a host: every deploy of every group it is in, in the seeds' start order.

    pyinfra inventories/prod.py deploys/all.py

Order: base (all hosts); data services (db, cache); migrations and app services (app);
edge (lb); monitoring (all). Later issues add their modules here; this file only composes.
"""

from deploys import base

base.apply()
