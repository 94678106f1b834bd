"""Settings of the cache hosts (group cache, Redis 7). See docs/settings.md.

`redis` belongs to the cache hosts: the app hosts read its port and users from them. Its
model and defaults: infra/settings/redis.py; maxmemory from the host's memory
(`maxmemory_fraction`, `maxmemory_cap`): infra/tuning.py, e.g.
    redis = {"maxmemory_fraction": 0.25, "maxmemory_policy": "allkeys-lru"}
"""

redis = {}
