"""pyinfra deploys for the aktienanalyse platform, one module per concern (docs/architecture.md)."""
