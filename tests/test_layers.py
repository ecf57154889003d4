"""The layers hold: `lint-imports` checks the contracts in pyproject.toml ([tool.importlinter],
docs/architecture.md), so an import that runs upward fails the suite."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def test_import_contracts_are_kept():
    run = subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "0 broken" in run.stdout


def test_an_upward_import_breaks_the_contract(tmp_path):
    """The check can fail: the same contracts over a copy of the tree in which storage
    imports the app."""
    import shutil

    for name in ("bot", "flows", "nlu", "storage", "vocab"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__", "data", "*.yaml"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "storage" / "upward.py").write_text("from bot.config import get_settings  # noqa\n")
    run = subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                         env={"PYTHONPATH": str(tmp_path), "PATH": ""})
    assert run.returncode != 0
    assert "storage.upward -> bot.config" in run.stdout
