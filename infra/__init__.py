"""The project's library: settings models, own operations, templating, tuning, SCRAM."""
