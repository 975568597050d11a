"""External-data tests skip only where the whole external folder is absent, never in CI."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import require_external


def test_a_present_file_is_returned(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "ladm-col").mkdir()
    (tmp_path / "ladm-col" / "EXPECTED.json").write_text("{}")
    monkeypatch.setenv("CADASTRE_EXTERNAL_DATA", str(tmp_path))
    assert require_external("ladm-col", "EXPECTED.json") == tmp_path / "ladm-col/EXPECTED.json"


def test_a_file_missing_from_a_present_folder_fails(monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Path) -> None:
    monkeypatch.setenv("CADASTRE_EXTERNAL_DATA", str(tmp_path))
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.fail.Exception, match="is missing, though the external data"):
        require_external("ladm-col", "EXPECTD.json")


@pytest.mark.parametrize(("ci", "outcome"), [
    (None, pytest.skip.Exception), ("false", pytest.skip.Exception),
    ("true", pytest.fail.Exception), ("1", pytest.fail.Exception)])
def test_an_absent_folder_skips_except_in_ci(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                             ci: str | None, outcome: type) -> None:
    monkeypatch.setenv("CADASTRE_EXTERNAL_DATA", str(tmp_path / "nowhere"))
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome):
        require_external("jts-unit-vectors", "jts-unit-cases.json")

