"""`xiangzhu flows …`: check, publish, export and test flows without the web (the flow engine is
flows/; this command is the app's, as it needs the settings and, to test, the whole app).

    xiangzhu flows validate [PATH...]   check files or folders (none: the built-in flows)
    xiangzhu flows publish FILE          save FILE as a new version and publish it
    xiangzhu flows export DIR            write every published flow to DIR/<id>.yaml
    xiangzhu flows test [PATH...]        run conversation tests (none: flows/builtin/tests)
    xiangzhu flows actions               list the actions flows may use, with examples
    xiangzhu flows history FLOW          every version: who saved it, when, published when
    xiangzhu flows diff FLOW A B         a unified diff between versions A and B
    xiangzhu flows rollback FLOW N       publish version N anew (audited)
"""
from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click

from bot.cli_session import run_in_session
from bot.config import get_settings

BUILTIN = Path(__file__).resolve().parents[1] / "flows" / "builtin"


def _yaml_files(paths: tuple[Path, ...]) -> list[Path]:
    files: list[Path] = []
    for path in paths or (BUILTIN,):
        if path.is_dir():
            files.extend(sorted(p for p in path.glob("*.yaml")))
        else:
            files.append(path)
    return files


@click.group("flows")
def flows_group() -> None:
    """对话流程：检查、发布、导出、测试 / flows: validate, publish, export, test."""


@flows_group.command("validate")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
def validate_command(paths: tuple[Path, ...]) -> None:
    """Check flow files; prints every problem as file:line:column: message."""
    from flows.validate import validate_files

    files = _yaml_files(paths)
    known = {p.stem for p in BUILTIN.glob("*.yaml")}
    errors = validate_files(files, known_flows=known)
    for error in errors:
        click.echo(str(error))
    if errors:
        click.echo(f"{len(errors)} 个问题 / {len(errors)} problem(s) in {len(files)} file(s)", err=True)
        sys.exit(1)
    click.echo(f"全部正确 / {len(files)} flow file(s) OK")


@flows_group.command("publish")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--by", default="cli", show_default=True, help="who publishes (kept in the audit log)")
def publish_command(file: Path, by: str) -> None:
    """Save FILE (named <flow id>.yaml) as a new version and publish it."""
    from flows.store import save_draft
    from flows.validate import FlowValidationError
    from storage import flow_store
    from storage.db import Database

    async def run() -> str:
        db = Database(get_settings().database_url)
        try:
            async with db.session() as session:
                version = await save_draft(session, file.stem, file.read_text(encoding="utf-8"), by)
                await flow_store.publish(session, file.stem, version.id, by=by)
                return f"已发布 {file.stem} 第 {version.version} 版 / published {file.stem} version {version.version}"
        finally:
            await db.dispose()

    try:
        click.echo(asyncio.run(run()))
    except FlowValidationError as exc:
        for error in exc.errors:
            click.echo(f"{file}:{error.line}:{error.column}: {error.message}")
        sys.exit(1)


@flows_group.command("export")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def export_command(directory: Path) -> None:
    """Write every published flow to DIRECTORY/<id>.yaml."""
    from storage import flow_store
    from storage.db import Database

    async def run() -> list[tuple[str, int]]:
        db = Database(get_settings().database_url)
        out = []
        try:
            async with db.session() as session:
                for summary in await flow_store.list_flows(session):
                    version = await flow_store.current_version(session, summary.id)
                    if version is not None:
                        (directory / f"{summary.id}.yaml").write_text(version.yaml, encoding="utf-8")
                        out.append((summary.id, version.version))
        finally:
            await db.dispose()
        return out

    directory.mkdir(parents=True, exist_ok=True)
    written = asyncio.run(run())
    for flow_id, version in written:
        click.echo(f"{directory / (flow_id + '.yaml')}  (version {version})")
    click.echo(f"导出 {len(written)} 个流程 / exported {len(written)} flow(s)")


@flows_group.command("test")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--flows", "flow_dirs", multiple=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="folder of flows to test against (default: the built-in flows)")
@click.option("--demo/--no-demo", default=True, show_default=True,
              help="seed the demo villages, staff and activities first")
def test_command(paths: tuple[Path, ...], flow_dirs: tuple[Path, ...], demo: bool) -> None:
    """Run conversation tests (YAML) through the real dispatcher on a fresh database."""
    from bot.services import build_emergency_detector
    from bot.conversation_tests import run_tests
    from nlu.parser import NLU

    files = _yaml_files(paths or (BUILTIN / "tests",))
    settings = get_settings()
    count, failures = asyncio.run(run_tests(
        files, list(flow_dirs) or [BUILTIN], nlu=NLU.load(settings.nlu_cache_dir),
        emergency_detector=build_emergency_detector(settings), demo=demo,
    ))
    for failure in failures:
        click.echo(str(failure))
    click.echo(f"{count - len({(f.test, f.where) for f in failures})}/{count} 通过 / passed")
    if failures:
        sys.exit(1)


@flows_group.command("actions")
def actions_command() -> None:
    """List the actions a flow may run, with their arguments and a YAML example."""
    from flows.registry import load_actions

    registry = load_actions()
    for name in registry.names():
        act = registry.get(name)
        args = ", ".join(f"{a.name}: {a.type}{'' if a.required else '?'}" for a in act.args.values())
        click.echo(f"{name}({args})")
        for line in act.doc.splitlines():
            click.echo(f"    {line}")
        click.echo("")


@flows_group.command("history")
@click.argument("flow_id")
def history_command(flow_id: str) -> None:
    """Every version of FLOW_ID: who saved it, when, and when it was published."""
    from storage import flow_store

    from storage.models import Staff

    async def read(session):
        current = await flow_store.current_version(session, flow_id)
        versions = await flow_store.versions_of(session, flow_id)
        names = {}
        for v in versions:
            if v.created_by.startswith("staff:") and v.created_by[6:].isdigit():
                staff = await session.get(Staff, int(v.created_by[6:]))
                names[v.created_by] = staff.username if staff else v.created_by
        return current, versions, names

    current, versions, names = run_in_session(read)
    if not versions:
        click.echo(f"没有流程 {flow_id} / no flow '{flow_id}'", err=True)
        sys.exit(1)
    for v in versions:
        mark = " *当前 current*" if current is not None and v.id == current.id else ""
        published = f"  已发布 published {v.published_at:%Y-%m-%d %H:%M}" if v.published_at else "  草稿 draft"
        click.echo(f"v{v.version}  {v.created_at:%Y-%m-%d %H:%M}  {names.get(v.created_by, v.created_by)}{published}{mark}")


@flows_group.command("diff")
@click.argument("flow_id")
@click.argument("a", type=int)
@click.argument("b", type=int)
def diff_command(flow_id: str, a: int, b: int) -> None:
    """A unified diff of FLOW_ID between versions A and B."""
    import difflib

    from storage import flow_store

    async def read(session):
        return (await flow_store.version_by_number(session, flow_id, a),
                await flow_store.version_by_number(session, flow_id, b))

    va, vb = run_in_session(read)
    missing = [str(n) for n, v in ((a, va), (b, vb)) if v is None]
    if missing:
        click.echo(f"{flow_id} 没有第 {', '.join(missing)} 版 / no version {', '.join(missing)}", err=True)
        sys.exit(1)
    click.echo("".join(difflib.unified_diff(va.yaml.splitlines(keepends=True), vb.yaml.splitlines(keepends=True),
                                            f"{flow_id} v{a}", f"{flow_id} v{b}")), nl=False)


@flows_group.command("rollback")
@click.argument("flow_id")
@click.argument("version", type=int)
@click.option("--by", default="cli", show_default=True, help="who rolls back (kept in the audit log)")
def rollback_command(flow_id: str, version: int, by: str) -> None:
    """Publish VERSION of FLOW_ID anew (as a new version); conversations on the old one finish on it."""
    from storage import flow_store

    new = run_in_session(lambda session: flow_store.rollback(session, flow_id, version, by=by),
                         refusal="不能回滚 / cannot roll back")
    click.echo(f"已把 {flow_id} 第 {version} 版重新发布为 v{new.version} / "
               f"published version {version} of {flow_id} anew as v{new.version}")
