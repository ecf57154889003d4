"""`xiangzhu campaigns add FILE | edit ID FILE | pause ID | resume ID | remove ID | list | show ID`.
A document with problems is refused with `file:line:column: message` lines (exit 1), like
`xiangzhu flows validate`; editing reschedules every pending row."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from bot.cli_session import run_in_session
from bot.config import get_settings
from flows.campaigns import parse_campaign
from storage import campaigns as campaign_store
from storage.models import utcnow

ACTOR = "cli"




def _read(path: Path) -> tuple[str, dict]:
    text = path.read_text(encoding="utf-8")
    spec, errors = parse_campaign(text, str(path))
    if errors:
        for e in errors:
            click.echo(str(e), err=True)
        sys.exit(1)
    return text, spec


@click.group("campaigns")
def campaigns_group() -> None:
    """活动计划 / campaigns: messages relative to a date (activity start, case close, flag, consent)."""


@campaigns_group.command("add")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def add(file: Path) -> None:
    """Check FILE and add it as a new campaign; its rows are scheduled at once."""
    text, spec = _read(file)

    async def work(s):
        c, rows = await campaign_store.add(s, text, spec, tz=get_settings().timezone, by=ACTOR, now=utcnow())
        return c.id, rows

    cid, rows = run_in_session(work)
    click.echo(f"活动计划 #{cid}：已排 {rows} 条 / campaign #{cid}: {rows} messages scheduled")


@campaigns_group.command("edit")
@click.argument("campaign_id", type=int)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def edit(campaign_id: int, file: Path) -> None:
    """Replace the campaign with FILE: pending messages are cancelled and rescheduled."""
    text, spec = _read(file)

    async def work(s):
        _, cancelled, rows = await campaign_store.edit(s, campaign_id, text, spec, tz=get_settings().timezone,
                                                       by=ACTOR, now=utcnow())
        return cancelled, rows

    cancelled, rows = run_in_session(work)
    click.echo(f"#{campaign_id}: {cancelled} cancelled, {rows} scheduled")


def _state_command(name: str, state: str, help_text: str):
    @campaigns_group.command(name, help=help_text)
    @click.argument("campaign_id", type=int)
    def command(campaign_id: int) -> None:
        async def work(s):
            _, n = await campaign_store.set_state(s, campaign_id, state, tz=get_settings().timezone, by=ACTOR,
                                                  now=utcnow())
            return n

        click.echo(f"#{campaign_id}: {state} ({run_in_session(work)} messages)")

    return command


_state_command("pause", "paused", "Pause: pending messages are cancelled.")
_state_command("resume", "active", "Resume a paused campaign: its messages are scheduled again.")
_state_command("remove", "removed", "Remove: pending messages are cancelled.")


@campaigns_group.command("list")
def list_campaigns() -> None:
    async def work(s):
        return [(c.id, c.name, c.state, c.version, await campaign_store.pending_count(s, c.id))
                for c in await campaign_store.listing(s)]

    for cid, name, state, version, pending in run_in_session(work):
        click.echo(f"#{cid:<4} {state:<7} v{version:<3} pending {pending:<5} {name}")


@campaigns_group.command("show")
@click.argument("campaign_id", type=int)
@click.option("--json", "as_json", is_flag=True)
def show(campaign_id: int, as_json: bool) -> None:
    async def work(s):
        c = await campaign_store.get(s, campaign_id)
        return {"id": c.id, "name": c.name, "state": c.state, "version": c.version, "spec": c.spec, "yaml": c.yaml,
                "pending": await campaign_store.pending_count(s, c.id)}

    c = run_in_session(work)
    if as_json:
        click.echo(json.dumps(c, ensure_ascii=False))
        return
    click.echo(f"#{c['id']} {c['name']} ({c['state']}, v{c['version']}, pending {c['pending']})\n{c['yaml']}")
