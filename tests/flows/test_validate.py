"""The validator: every broken fixture gives exactly its expected messages; good flows give none."""
from __future__ import annotations

import io
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from flows.migrations import MIGRATIONS, migrate
from flows.model import SPEC_VERSION
from flows.validate import FlowValidationError, load_flow, validate_files, validate_text

DATA = Path(__file__).parent / "data"
BROKEN = sorted((DATA / "broken").glob("*.yaml"))
MIGRATION_FIXTURES = sorted((DATA / "migrations").glob("*.yaml"))


@pytest.mark.parametrize("path", BROKEN, ids=lambda p: p.stem)
def test_broken_flow_gives_its_exact_messages(path: Path):
    expected = path.with_suffix(".expected").read_text(encoding="utf-8").splitlines()
    got = [str(e) for e in validate_text(path.read_text(encoding="utf-8"), path.name)]
    assert got == expected
    assert expected, "a broken fixture must have at least one message"


def test_every_broken_fixture_has_an_expectation():
    assert len(BROKEN) >= 10
    for path in BROKEN:
        assert path.with_suffix(".expected").exists(), path


def test_the_test_flows_are_valid_together():
    paths = sorted((DATA / "flows").glob("*.yaml"))
    assert [str(e) for e in validate_files(paths)] == []


def test_call_to_a_missing_flow_is_reported_across_files(tmp_path: Path):
    (tmp_path / "caller.yaml").write_text(
        "spec_version: 2\nid: caller\ntitle: {zh: 调用, en: Caller}\nsteps:\n  - call: consnt\n", encoding="utf-8")
    (tmp_path / "consent.yaml").write_text(
        "spec_version: 2\nid: consent\ntitle: {zh: 同意, en: Consent}\nsteps:\n  - say: {zh: 好, en: OK}\n",
        encoding="utf-8")
    errors = [str(e) for e in validate_files(sorted(tmp_path.glob("*.yaml")))]
    assert errors == [f"{tmp_path / 'caller.yaml'}:5:11: step 1 calls the flow 'consnt', which does not exist"
                      " — did you mean 'consent'?"]


def test_load_flow_raises_with_every_error():
    text = (DATA / "broken" / "wrong_type.yaml").read_text(encoding="utf-8")
    with pytest.raises(FlowValidationError) as info:
        load_flow(text, "wrong_type.yaml")
    assert len(info.value.errors) == 2
    assert str(info.value).splitlines()[0].startswith("wrong_type.yaml:5:15: slot 'age'")


def _dump(data) -> str:
    out = io.StringIO()
    YAML(typ="rt").dump(data, out)
    return out.getvalue()


@pytest.mark.parametrize("path", MIGRATION_FIXTURES, ids=lambda p: p.stem)
def test_migration_fixture(path: Path):
    fixture = YAML(typ="rt").load(path.read_text(encoding="utf-8"))
    assert fixture["description"]
    original = fixture["original"]
    assert original["spec_version"] < SPEC_VERSION
    migrate(original)
    assert YAML(typ="safe").load(_dump(original)) == YAML(typ="safe").load(_dump(fixture["migrated"]))
    # every migrated fixture loads again, and so does the original (migrated on load)
    assert validate_text(_dump(fixture["migrated"]), f"{fixture['migrated']['id']}.yaml") == []
    original_text = _dump(YAML(typ="rt").load(path.read_text(encoding="utf-8"))["original"])
    assert validate_text(original_text, f"{fixture['migrated']['id']}.yaml") == []


def test_every_migration_has_a_docstring_and_a_fixture():
    assert set(MIGRATIONS) == set(range(1, SPEC_VERSION))
    for fn in MIGRATIONS.values():
        assert fn.__doc__ and len(fn.__doc__) > 40
    versions = {YAML(typ="safe").load(p.read_text(encoding="utf-8"))["original"]["spec_version"]
                for p in MIGRATION_FIXTURES}
    assert versions >= set(MIGRATIONS)


def test_a_future_spec_version_is_refused():
    errors = validate_text("spec_version: 9\nid: x\ntitle: {zh: 问, en: Q}\nsteps:\n  - end: true\n", "x.yaml")
    assert [str(e) for e in errors] == [
        "x.yaml:1:15: spec_version 9 is not known: this program reads versions 1 to 2"]
