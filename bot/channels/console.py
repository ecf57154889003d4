"""The console channel: `xiangzhu chat` talks to the bot from a terminal (or a pipe).

Each line is one message. Replies print with their choices as numbered lines; typing a number
picks that choice's payload. Later messages for this sender (a worker's reply) print when the
outbox sender delivers them. Ends at end of input or `/quit`.
"""
from __future__ import annotations

import asyncio
import sys
import uuid
from typing import TextIO

import click

from bot.channels.base import ChannelAdapter, RetryableSendError, choice_payload, render_numbered
from bot.config import Settings, get_settings
from vocab.messages import Button, Inbound, Outbound

__all__ = ["ConsoleAdapter", "chat_command", "run_chat"]

_PROMPT = {"zh": "乡助", "en": "Xiangzhu"}


class ConsoleAdapter(ChannelAdapter):
    name = "console"
    renders_buttons = False
    replies_in_response = True

    def __init__(self, sender: str, locale: str, out: TextIO):
        self.sender = sender
        self.locale = locale
        self.out = out
        self.last_buttons: list[Button] = []

    def show(self, reply: Outbound) -> None:
        label = _PROMPT.get(self.locale, _PROMPT["zh"])
        self.out.write(f"{label}> {render_numbered(reply.text, reply.buttons, self.locale)}\n")
        self.out.flush()

    async def send(self, out: Outbound) -> None:
        if out.recipient != self.sender:  # another console session's message
            raise RetryableSendError("recipient is not this console", retry_after=2.0)
        self.show(out)
        if out.buttons:
            self.last_buttons = list(out.buttons)


async def run_chat(settings: Settings, sender: str, locale: str, stdin: TextIO, stdout: TextIO, services=None) -> None:
    from bot.services import build_services

    services = services or build_services(settings)
    console = services.channels.register(ConsoleAdapter(sender, locale, stdout))
    await services.start()
    try:
        if stdin.isatty():
            stdout.write("乡助 Xiangzhu — 输入消息回车发送，输入数字选择，Ctrl-D 退出。\n")
            stdout.flush()
        while True:
            line = await asyncio.to_thread(stdin.readline)
            if line == "":
                break
            text = line.rstrip("\r\n")
            if text.strip() in ("/quit", "/exit"):
                break
            inbound = Inbound(
                channel="console",
                sender=sender,
                text=text,
                message_id=uuid.uuid4().hex,
                payload=choice_payload(text, console.last_buttons),
                locale_hint=locale,
            )
            replies = await services.dispatcher.handle(inbound)
            for reply in replies:
                console.show(reply)
            with_buttons = [r for r in replies if r.buttons]
            console.last_buttons = list(with_buttons[-1].buttons) if with_buttons else []
    finally:
        await services.stop()


@click.command("chat")
@click.option("--sender", default="console", show_default=True, help="who you are to the bot")
@click.option("--locale", type=click.Choice(["zh", "en"]), default=None, help="language of a new person")
def chat_command(sender: str, locale: str | None) -> None:
    """在终端里和机器人对话 / talk to the bot in the terminal."""
    from bot.cli_session import exit_unless_schema_current
    from bot.logs import setup_logging

    settings = get_settings()
    setup_logging(settings.model_copy(update={"log_level": "WARNING"}))
    exit_unless_schema_current(settings.database_url)
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(encoding="utf-8")
    if hasattr(sys.stdin, "reconfigure"):
        sys.stdin.reconfigure(encoding="utf-8", errors="replace")
    asyncio.run(run_chat(settings, sender, locale or settings.default_locale, sys.stdin, sys.stdout))
