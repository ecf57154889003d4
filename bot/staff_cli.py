"""`xiangzhu admin …` and `xiangzhu workers …`: staff accounts, API tokens, messenger invites,
offboarding. Each command is one transaction against XIANGZHU_DATABASE_URL."""
from __future__ import annotations

import sys
from datetime import datetime
from zoneinfo import ZoneInfo

import click
from sqlalchemy import select

from bot.cli_session import run_in_session
from bot.config import get_settings
from storage import audit, routing, saved_answers
from storage import staff as staff_service
from storage import staff_access
from storage import staff_invites
from storage import staff_offboarding
from storage.models import OnCallShift, Staff, utcnow

ACTOR = "cli"




def _codes(areas: str) -> list[str]:
    return [c.strip() for c in (areas or "").split(",") if c.strip()]


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        return line.rstrip("\r\n")
    return click.prompt("密码 / password", hide_input=True, confirmation_prompt=True)


@click.group("admin")
def admin_group() -> None:
    """员工账号与 API 令牌 / staff accounts and API tokens."""


@admin_group.command("create-user")
@click.argument("username")
@click.option("--role", "roles", multiple=True, required=True,
              type=click.Choice(staff_service.ROLES), help="admin | supervisor | worker | viewer (repeatable)")
@click.option("--areas", default="", help="area codes, comma-separated: a township for a supervisor, villages for a worker")
@click.option("--name", "display_name", default="", help="display name, e.g. 王芳")
@click.option("--password-stdin", is_flag=True, help="read the password from the first line of stdin")
@click.option("--no-password", is_flag=True, help="no web sign-in (token or messenger only)")
def create_user(username, roles, areas, display_name, password_stdin, no_password):
    """Create a staff account USERNAME."""
    password = None if no_password else _read_password(password_stdin)

    async def work(s):
        staff = await staff_service.create_user(s, username, roles=roles, area_codes=_codes(areas),
                                                password=password, display_name=display_name, actor=ACTOR)
        return staff.username, [a.code for a in staff.areas]

    name, codes = run_in_session(work)
    click.echo(f"已创建账号 {name}（{', '.join(roles)}；地区 {', '.join(codes) or '无'}）"
               f" / created {name} ({', '.join(roles)}; areas {', '.join(codes) or 'none'})")


@admin_group.command("set-password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="read the password from the first line of stdin")
def set_password(username, password_stdin):
    """Set USERNAME's password (also clears a lockout)."""
    password = _read_password(password_stdin)
    run_in_session(lambda s: staff_service.set_password(s, username, password, actor=ACTOR))
    click.echo(f"已设置 {username} 的密码 / password set for {username}")


@admin_group.command("unlock")
@click.argument("username")
def unlock(username):
    """Lift a lockout after too many wrong passwords."""
    run_in_session(lambda s: staff_service.unlock(s, username, actor=ACTOR))
    click.echo(f"已解锁 {username} / {username} unlocked")


@admin_group.command("token")
@click.argument("name")
@click.option("--role", type=click.Choice(staff_service.ROLES),
              help="make a service account NAME with this role and give it the token")
@click.option("--user", "username", help="give the token to this existing account instead")
@click.option("--areas", default="", help="areas of the new service account (with --role)")
def token(name, role, username, areas):
    """Create an API token NAME. The token is printed once, on the last line."""
    if bool(role) == bool(username):
        raise click.UsageError("give exactly one of --role or --user / 请二选一：--role 或 --user")

    async def work(s):
        owner = username
        if role:
            existing = await staff_service.find_staff(s, name)
            if existing is None:
                await staff_service.create_user(s, name, roles=[role], area_codes=_codes(areas),
                                                display_name=name, actor=ACTOR)
            elif role not in (existing.roles or []):
                raise staff_service.StaffError(
                    f"账号“{name}”已存在但没有角色 {role}，请用 --user / account '{name}' exists without role {role}; use --user")
            owner = name
        _, plain = await staff_access.create_token(s, name, username=owner, actor=ACTOR)
        return owner, plain

    owner, plain = run_in_session(work)
    click.echo(f"令牌 {name} 属于账号 {owner}，只显示这一次，请妥善保存 / token {name} for {owner}; shown only once:")
    click.echo(plain)


@admin_group.command("revoke")
@click.argument("name")
def revoke(name):
    """Revoke the API token NAME (or every token of the account NAME)."""
    n = run_in_session(lambda s: staff_access.revoke_token(s, name, actor=ACTOR))
    click.echo(f"已撤销 {n} 个令牌 / revoked {n} token(s)")


@click.group("workers")
def workers_group() -> None:
    """社工：邀请绑定消息账号、离职交接 / workers: messenger invites and offboarding."""


@workers_group.command("invite")
@click.argument("username")
@click.option("--areas", default="", help="create the worker account with these village codes if it does not exist")
@click.option("--name", "display_name", default="", help="display name for a new account")
def invite(username, areas, display_name):
    """A one-time code USERNAME sends to the bot (`/start w-CODE`) to link Telegram or WeChat."""

    async def work(s):
        staff = await staff_service.find_staff(s, username)
        if staff is None:
            if not _codes(areas):
                raise staff_service.StaffError(
                    f"没有账号“{username}”；新建社工请加 --areas / no account '{username}'; add --areas to create a worker")
            await staff_service.create_user(s, username, roles=["worker"], area_codes=_codes(areas),
                                            display_name=display_name, actor=ACTOR)
        elif _codes(areas):
            await staff_service.set_areas(s, username, _codes(areas), actor=ACTOR)
        row, code = await staff_invites.create_invite(s, username, actor=ACTOR)
        return code, row.expires_at

    code, expires = run_in_session(work)
    click.echo(f"邀请码（一次有效，{expires:%Y-%m-%d %H:%M} UTC 前使用）/ one-time invite code (use before "
               f"{expires:%Y-%m-%d %H:%M} UTC): {code}")
    click.echo("建议用 Telegram：微信只能在社工 48 小时内给机器人发过消息时才收到通知 / Telegram is suggested: "
               "WeChat delivers notifications only within 48 hours of the worker's last message to the bot")
    click.echo("请社工在 Telegram 或微信里给机器人发送 / the worker sends this to the bot on Telegram or WeChat:")
    click.echo(f"/start w-{code}")


@workers_group.command("deactivate")
@click.argument("username")
@click.option("--reassign-to", "reassign_to", default=None, help="who takes over open handoffs and cases")
def deactivate(username, reassign_to):
    """Offboard USERNAME: open work moves to --reassign-to; tokens, sessions, messenger link end."""
    result = run_in_session(lambda s: staff_offboarding.deactivate(s, username, reassign_to, now=utcnow(), actor=ACTOR))
    click.echo(f"已停用 {username}：转交 {result.handoffs} 个对话、{result.cases} 个个案，撤销 {result.tokens} 个令牌"
               f" / deactivated {username}: moved {result.handoffs} handoff(s) and {result.cases} case(s) to "
               f"{reassign_to or '-'}, revoked {result.tokens} token(s)")


def _when(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"时间格式：2026-11-23T18:00 / time as YYYY-MM-DDTHH:MM: {value}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=ZoneInfo(get_settings().timezone))


@workers_group.command("on-call")
@click.argument("username", required=False)
@click.option("--from", "starts", help="start, local time (YYYY-MM-DDTHH:MM)")
@click.option("--until", "ends", help="end, local time")
def on_call(username, starts, ends):
    """The on-call rota: who is paged for emergencies out of hours. Without USERNAME: list the
    shifts to come; with it: add a shift --from … --until …."""
    if username and not (starts and ends):
        raise click.UsageError("请给出 --from 和 --until / give --from and --until")

    async def work(s):
        if username:
            staff = await staff_service.find_staff(s, username)
            if staff is None:
                raise staff_service.StaffError(f"没有账号“{username}” / no account '{username}'")
            try:
                await routing.add_on_call(s, staff.id, _when(starts), _when(ends))
            except ValueError as exc:
                raise staff_service.StaffError(str(exc)) from exc
            await audit.record(s, ACTOR, "staff.on_call", f"staff:{staff.id}")
        rows = await s.execute(select(OnCallShift, Staff.username).join(Staff, Staff.id == OnCallShift.staff_id)
                               .where(OnCallShift.ends_at > utcnow()).order_by(OnCallShift.starts_at))
        return [(r.starts_at, r.ends_at, name) for r, name in rows.all()]

    tz = ZoneInfo(get_settings().timezone)
    shifts = run_in_session(work)
    if not shifts:
        click.echo("没有值班安排 / no on-call shifts ahead")
    for start, end, name in shifts:
        click.echo(f"{start.astimezone(tz):%Y-%m-%d %H:%M} – {end.astimezone(tz):%Y-%m-%d %H:%M}  {name}")


@workers_group.command("answer")
@click.argument("name")
@click.argument("text")
def shared_answer(name, text):
    """Keep a shared saved answer NAME (workers send it with `/r NAME` or 回复 NAME); TEXT may
    use {name}, {village} and {case}."""
    async def work(s):
        try:
            return (await saved_answers.save(s, name, text, staff_id=None, actor=ACTOR)).name
        except saved_answers.SavedAnswerError as exc:
            raise staff_service.StaffError(str(exc)) from exc

    click.echo(f"已保存共用回复“{run_in_session(work)}” / saved the shared answer")
