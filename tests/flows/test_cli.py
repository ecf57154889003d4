"""`xiangzhu flows …` through the real CLI entry point (click's runner, in process)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import cli

DATA = Path(__file__).parent / "data"


@pytest.fixture
def env(monkeypatch, fresh_sqlite_url):
    from bot.config import get_settings

    monkeypatch.setenv("XIANGZHU_DATABASE_URL", fresh_sqlite_url)
    get_settings.cache_clear()
    yield fresh_sqlite_url
    get_settings.cache_clear()


def test_validate_good_flows_exits_zero():
    result = CliRunner().invoke(cli, ["flows", "validate", str(DATA / "flows")])
    assert result.exit_code == 0, result.output
    assert "flow file(s) OK" in result.output


def test_validate_prints_every_problem_and_exits_non_zero(tmp_path):
    for name in ("jump_to_missing_step", "undefined_slot"):
        shutil.copy(DATA / "broken" / f"{name}.yaml", tmp_path / f"{name}.yaml")
    result = CliRunner().invoke(cli, ["flows", "validate", str(tmp_path)])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert f"{tmp_path}/jump_to_missing_step.yaml:13:15: step 2 jumps to 'enrol', which does not exist" \
           " — did you mean 'enroll'?" in lines
    assert any(line.startswith(f"{tmp_path}/undefined_slot.yaml:8:13: step 1 asks for slot 'vilage'") for line in lines)


def test_publish_then_export_round_trip(env, tmp_path):
    runner = CliRunner()
    source = DATA / "flows" / "water_report.yaml"
    first = runner.invoke(cli, ["flows", "publish", str(source)])
    assert first.exit_code == 0, first.output
    assert "version 1" in first.output
    edited = tmp_path / "water_report.yaml"
    edited.write_text(source.read_text(encoding="utf-8").replace("已记下", "我们已记下"), encoding="utf-8")
    second = runner.invoke(cli, ["flows", "publish", str(edited)])
    assert "version 2" in second.output
    out = tmp_path / "export"
    exported = runner.invoke(cli, ["flows", "export", str(out)])
    assert exported.exit_code == 0, exported.output
    assert "我们已记下" in (out / "water_report.yaml").read_text(encoding="utf-8")


def test_publish_refuses_a_broken_flow(env, tmp_path):
    broken = tmp_path / "unknown_action.yaml"
    shutil.copy(DATA / "broken" / "unknown_action.yaml", broken)
    result = CliRunner().invoke(cli, ["flows", "publish", str(broken)])
    assert result.exit_code == 1
    assert f"{broken}:5:13: step 1 runs the action 'set_slot', which does not exist" in result.output


def test_flows_test_command_passes_and_fails(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text(
        "tests:\n  - name: menu\n    steps:\n      - user: 菜单\n        bot: 请选择\n"
        "      - user: '1'\n        bot: 哪个村\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["flows", "test", str(good), "--flows", str(DATA / "flows")])
    assert result.exit_code == 0, result.output
    assert "1/1" in result.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("tests:\n  - name: wrong\n    steps:\n      - user: 菜单\n        bot: 不存在的回答\n",
                   encoding="utf-8")
    result = CliRunner().invoke(cli, ["flows", "test", str(bad), "--flows", str(DATA / "flows")])
    assert result.exit_code == 1
    assert "wrong: turn 1 ('菜单'): expected a reply matching '不存在的回答'" in result.output


def test_actions_lists_core_actions_with_examples():
    result = CliRunner().invoke(cli, ["flows", "actions"])
    assert result.exit_code == 0
    assert "clear_slots(names: list)" in result.output
    assert "- action: clear_slots" in result.output
