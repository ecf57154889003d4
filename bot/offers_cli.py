"""`xiangzhu offers list|approve|block` and `xiangzhu match CASE`: resource linking from the
command line. Each command is one transaction against XIANGZHU_DATABASE_URL."""
from __future__ import annotations


import click

from bot.cli_session import run_in_session
from storage import cases as case_service
from storage import offers as offer_service
from storage.models import Area, Offer
from vocab.cases import CATEGORY_WORDS

ACTOR = "cli"




async def _line(s, o: Offer) -> str:
    area = await s.get(Area, o.area_id) if o.area_id else None
    cats = ",".join(CATEGORY_WORDS["zh"].get(c, c) for c in o.categories)
    return (f"#{o.id}\t{o.status}\t{o.offerer_name}\t{cats}\t{o.remaining}/{o.quantity}{o.unit}\t"
            f"{area.name if area else '全县'}\t{o.available_from or ''}–{o.available_until or ''}")


@click.group("offers")
def offers_group() -> None:
    """帮助资源：列出、通过、停用 / offers of help: list, approve, block."""


@offers_group.command("list")
@click.option("--status", type=click.Choice(offer_service.OFFER_STATUSES), help="only offers in this status")
def list_offers(status):
    async def work(s):
        rows = await offer_service.list_offers(s, status=status)
        for o in rows:
            click.echo(await _line(s, o))
        if not rows:
            click.echo("没有帮助资源 / no offers")
    run_in_session(work)


def _review(offer_id: int, status: str, note: str) -> None:
    async def work(s):
        offer = await s.get(Offer, offer_id)
        if offer is None:
            raise offer_service.OfferError(f"没有帮助 #{offer_id} / no offer #{offer_id}")
        await offer_service.review_offer(s, offer, status, staff_id=None, note=note, actor=ACTOR)
        click.echo(await _line(s, offer))
    run_in_session(work)


@offers_group.command("approve")
@click.argument("offer_id", type=int)
@click.option("--note", default="", help="why, kept with the offer")
def approve(offer_id, note):
    """Approve offer OFFER_ID: it is used for matching from now on."""
    _review(offer_id, "approved", note)


@offers_group.command("block")
@click.argument("offer_id", type=int)
@click.option("--note", default="", help="why, kept with the offer")
def block(offer_id, note):
    """Block offer OFFER_ID: it is no longer used for matching."""
    _review(offer_id, "blocked", note)


@click.command("match")
@click.argument("case_number")
def match_command(case_number):
    """The offers that could serve case CASE_NUMBER, best first (same category, nearest place)."""
    async def work(s):
        case = await case_service.get_case(s, case_number)
        if case is None:
            raise offer_service.OfferError(f"没有个案 {case_number} / no case {case_number}")
        found = await offer_service.offers_for_case(s, case)
        for f in found:
            fit = "同类" if f.exact else "综合"
            click.echo(f"{await _line(s, f.offer)}\t{fit}/{f.place_word}")
        if not found:
            click.echo("暂时没有合适的帮助 / no offer fits this case yet")
    run_in_session(work)
