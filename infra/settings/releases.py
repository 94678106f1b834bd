"""`releases`: where the services' wheels come from and how many releases an app host keeps."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator

from infra.settings.types import REPO, HttpUrl, Strict, Text


class Releases(Strict):
    wheelhouse: Text | None = Field(
        None,
        description="directory of wheels on the control machine (relative to the repository "
        "or absolute); uploaded to the app hosts, only changed files are sent",
    )
    index_url: HttpUrl | None = Field(
        None,
        description="package index (PEP 503) the app hosts download the pinned wheels from "
        "into their wheelhouse, instead of an uploaded wheelhouse",
    )
    keep: int = Field(
        3, ge=2, le=20, description="releases kept per service, the live one included"
    )
    health_timeout: int = Field(
        60, ge=5, le=600, description="seconds an instance has to answer /health with its version"
    )

    @field_validator("wheelhouse")
    @classmethod
    def _existing_directory(cls, value: str | None) -> str | None:
        if value is not None:
            path = (Path(value) if Path(value).is_absolute() else REPO / value).resolve()
            if not value.strip() or path == REPO or (REPO in path.parents and ".git" in path.parts):
                raise ValueError("must name a wheelhouse directory, not the repository")
            if not path.is_dir():
                raise ValueError("the wheelhouse is not a directory")
            if not any(path.glob("*.whl")):
                raise ValueError("the wheelhouse holds no wheel")
            entries = list(path.iterdir())
            if any(f.resolve().parent != path or not f.resolve().is_file() for f in entries):
                raise ValueError(
                    "holds a link leading out of the wheelhouse, or something other than a "
                    "regular file (it is uploaded whole, what links point at included)"
                )
            if any(f.name != ".stamp" and f.suffix != ".whl" for f in entries):
                raise ValueError("the wheelhouse holds more than wheels (it is uploaded whole)")
            return str(path)
        return value
