"""Command-line tools: plan, apply, settings docs, Zabbix template, plan comment."""
