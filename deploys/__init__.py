"""pyinfra deploys for the aktienanalyse platform, one module per concern (see README.md)."""
