from __future__ import annotations

from ledger.settings import PROJECT_ROOT, Settings


def test_every_setting_is_documented_in_the_readme() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text()
    for name, field in Settings.model_fields.items():
        env = field.validation_alias or f"GRIDLEDGER_{name.upper()}"
        assert f"`{env}`" in readme, env


def test_quick_start_has_exactly_the_two_commands() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text()
    quick = readme.split("## Quick start", 1)[1].split("```", 2)[1]
    assert quick.strip().splitlines() == ["make demo", "make test"]
