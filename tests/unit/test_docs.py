"""The settings table in docs/settings.md is the one generated from the models."""

from pathlib import Path

from tools.settings_doc import main

SETTINGS_DOC = Path(__file__).resolve().parents[2] / "docs" / "settings.md"


def test_settings_table_is_current():
    assert main(["--check", str(SETTINGS_DOC)]) == 0, "run `make docs`"
