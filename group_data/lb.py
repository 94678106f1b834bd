"""Settings for the load balancer hosts (HAProxy). See README.md, "Settings"."""

# The TLS certificate and its key, one PEM file on the control machine (mode 0600).
secrets = {
    "haproxy_tls_pem": {"env": "AKTIENANALYSE_HAPROXY_TLS_PEM"},
}
