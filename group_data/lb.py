"""Settings of the load balancer hosts (group lb, HAProxy). See docs/settings.md.

`haproxy` belongs to the lb hosts: the app hosts read its admin port from them. The TLS
certificate and key come from the secret `haproxy_tls_pem` (group_data/all.py).
"""

haproxy = {}
