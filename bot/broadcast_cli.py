"""`xiangzhu broadcast send|report|list`: a message to a segment, sent by the running server's
leader in rate-limited batches (bot/broadcasts.py), and its report."""
from __future__ import annotations

import json

import click

from bot.cli_session import run_in_session
from storage import broadcasts as broadcast_store
from storage.models import utcnow

ACTOR = "cli"




@click.group("broadcast")
def broadcast_group() -> None:
    """群发通知 / broadcasts to a village, an activity's participants or everyone."""


@broadcast_group.command("send")
@click.option("--village", default=None, help="area code: that village (or township/county and below)")
@click.option("--activity", type=int, default=None, help="an activity's participants")
@click.option("--everyone", is_flag=True, help="everyone who consented")
@click.option("--zh", "text_zh", required=True, help="the Chinese text")
@click.option("--en", "text_en", default="", help="the English text (for people who chose English)")
def send(village, activity, everyone, text_zh, text_en) -> None:
    """Queue a broadcast; the server's leader sends it (quiet hours and opt-outs kept)."""
    segment = {k: v for k, v in (("village", village), ("activity", activity), ("everyone", everyone)) if v}

    async def work(s):
        b, n = await broadcast_store.create(s, segment, {"zh": text_zh, "en": text_en}, created_by=ACTOR, now=utcnow())
        return b.id, n

    bid, n = run_in_session(work)
    click.echo(f"群发 #{bid}：{n} 人 / broadcast #{bid} to {n} people queued; see: xiangzhu broadcast report {bid}")


@broadcast_group.command("report")
@click.argument("broadcast_id", type=int)
@click.option("--json", "as_json", is_flag=True)
def report(broadcast_id: int, as_json: bool) -> None:
    """Delivered / failed / queued / pending / skipped by reason."""

    async def work(s):
        from storage.models import Broadcast

        b = await s.get(Broadcast, broadcast_id)
        if b is None:
            raise broadcast_store.BroadcastError(f"broadcast {broadcast_id} not found")
        return {"id": b.id, "state": b.state, "segment": b.segment, **await broadcast_store.report(s, b.id)}

    r = run_in_session(work)
    if as_json:
        click.echo(json.dumps(r, ensure_ascii=False))
        return
    skipped = ", ".join(f"{k} {v}" for k, v in sorted(r["skipped"].items())) or "0"
    click.echo(f"#{r['id']} {r['state']}  total {r['total']}  delivered {r['delivered']}  failed {r['failed']}  "
               f"queued {r['queued']}  pending {r['pending']}  skipped: {skipped}")


@broadcast_group.command("list")
def list_broadcasts() -> None:
    """Recent broadcasts."""

    async def work(s):
        return [(b.id, b.state, b.segment, b.text.get("zh", "")[:30], b.created_at) for b in await broadcast_store.listing(s)]

    for bid, state, segment, text, at in run_in_session(work):
        click.echo(f"#{bid:<5} {state:<8} {at:%Y-%m-%d %H:%M} {json.dumps(segment, ensure_ascii=False)}  {text}")
