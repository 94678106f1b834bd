"""`zabbix`: the Zabbix agent 2 on every host, and the server(s) it answers."""

from __future__ import annotations

from ipaddress import ip_address
from typing import Annotated

from pydantic import AfterValidator, Field, field_validator

from infra.settings.types import HostPort, Strict, _host


class Zabbix(Strict):
    server: list[Annotated[str, AfterValidator(_host)]] = Field(
        default=["10.1.1.103"],
        description="Zabbix server(s) allowed to poll (seed 000: 10.1.1.103)",
    )
    server_active: HostPort | None = Field(
        "10.1.1.103:10051", description="Zabbix server for active checks; none: passive only"
    )

    @field_validator("server")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for address in value:
            try:
                ip_address(address)
            except ValueError:
                raise ValueError("a server is not an IP address") from None
        return value
