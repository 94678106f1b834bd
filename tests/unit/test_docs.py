"""The README's settings table is the one generated from the models."""

from pathlib import Path

from tools.settings_doc import main

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_settings_table_is_current():
    assert main(["--check", str(README)]) == 0, "run `make docs`"
