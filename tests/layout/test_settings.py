"""Settings are declared once; the docs and the code must agree on them."""

from pathlib import Path

import pytest

from layout import settings

ROOT = Path(__file__).resolve().parents[2]
DESIGN = ROOT.parent / "shared" / "DESIGN.md"


@pytest.mark.parametrize("setting", settings.SETTINGS, ids=lambda s: s.env)
def test_settings_every_setting_is_documented_in_readme(setting):
    readme = (ROOT / "README.md").read_text()
    assert f"| `{setting.env}` |" in readme


def test_settings_readme_documents_no_setting_the_code_lacks():
    readme = (ROOT / "README.md").read_text()
    documented = {
        line.split("`")[1] for line in readme.splitlines() if line.startswith("| `RUNLAKE_")
    }
    assert documented == set(settings.BY_ENV)


# Settings newer than DESIGN.md, which is read-only in a change; README documents them, and
# each is proposed for DESIGN in the report of the change that added it.
NOT_YET_IN_DESIGN = {"RUNLAKE_QUERY_AUTH_CACHE_S"}


@pytest.mark.skipif(not DESIGN.exists(), reason="shared/ is not beside the checkout")
def test_settings_design_names_every_setting():
    design = DESIGN.read_text()
    for setting in settings.SETTINGS:
        assert setting.env in design or setting.env in NOT_YET_IN_DESIGN, setting.env
    for env in NOT_YET_IN_DESIGN:
        assert f"`{env}`" not in design, f"DESIGN names {env} now: drop it from the list"


def test_settings_load_empty_counts_as_unset_and_overrides_win():
    values = settings.load(
        {"RUNLAKE_FLUSH_MS": "", "RUNLAKE_STORE": "s3://b/p"}, {"RUNLAKE_STORE": "/tmp/x"}
    )
    assert values["RUNLAKE_FLUSH_MS"] == 200
    assert values["RUNLAKE_STORE"] == "/tmp/x"


def test_settings_load_names_every_bad_value():
    with pytest.raises(settings.SettingError) as caught:
        settings.load({"RUNLAKE_FLUSH_MS": "soon", "RUNLAKE_FLUSH_ROWS": "-3"})
    assert "RUNLAKE_FLUSH_MS" in str(caught.value)
    assert "RUNLAKE_FLUSH_ROWS" in str(caught.value)
