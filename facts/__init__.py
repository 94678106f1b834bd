"""Custom pyinfra facts of this project."""
