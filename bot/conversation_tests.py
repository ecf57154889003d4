"""Conversation tests: YAML files of user messages, expected replies and expected effects,
run through the real dispatcher on a fresh SQLite database (format: flows/FORMAT.md).

    tests:
      - name: water report
        locale: zh
        steps:
          - user: 停水了
            bot: 哪个村
          - press: /water
            bot: [/几天/, 已记下]
            buttons: [是, 否]
        expect:
          handoff_opened: true

Effects are pluggable: `@effect("name")` over `async def check(session, person_id, expected)
-> str | None` (a problem in words, or None). The built-in ones are case_opened,
enrollment, handoff_opened, slot and flow; the mission's are in bot/conversation_effects.py.
It drives the whole app (services, dispatcher, gazetteer), so it lives in bot/: the flow engine
(flows/) knows nothing of it.
"""
from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Awaitable, Callable, Iterable

from ruamel.yaml import YAML
from sqlalchemy import select

from vocab.messages import Inbound
from storage.models import ChannelIdentity, Conversation, Enrollment, Handoff, NeedRequest

__all__ = ["ConversationTest", "EFFECTS", "TestFailure", "effect", "load_tests", "run_tests", "ConversationRunner"]

EffectCheck = Callable[[Any, int, Any], Awaitable[str | None]]
EFFECTS: dict[str, EffectCheck] = {}


def effect(name: str):
    def register(fn: EffectCheck) -> EffectCheck:
        EFFECTS[name] = fn
        return fn

    return register


@dataclass
class TestFailure:
    test: str
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.test}: {self.message}"


@dataclass
class ConversationTest:
    name: str
    steps: list[dict]
    expect: dict = field(default_factory=dict)
    locale: str = "zh"
    channel: str = "rest"
    file: str = ""
    line: int = 0

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


def load_tests(path: Path) -> list[ConversationTest]:
    data = YAML(typ="rt").load(path.read_text(encoding="utf-8")) or {}
    tests = []
    for i, raw in enumerate(data.get("tests") or []):
        line = raw.lc.line + 1 if hasattr(raw, "lc") else 0
        tests.append(ConversationTest(
            name=str(raw.get("name") or f"test {i + 1}"),
            steps=[dict(s) for s in raw.get("steps") or []],
            expect=dict(raw.get("expect") or {}),
            locale=str(raw.get("locale") or "zh"),
            channel=str(raw.get("channel") or "rest"),
            file=str(path),
            line=line,
        ))
    return tests


# ── expectations ─────────────────────────────────────────────────────────────────────────


def _matches(pattern: str, text: str) -> bool:
    pattern = str(pattern)
    if len(pattern) >= 2 and pattern.startswith("/") and pattern.endswith("/"):
        return re.search(pattern[1:-1], text, re.S) is not None
    return pattern in text


def check_replies(expected: Any, replies: list[str]) -> str | None:
    """None when the replies satisfy `expected` (a text, a /pattern/ or a list in order)."""
    if expected is None:
        return None
    if isinstance(expected, list):
        pos = 0
        for pattern in expected:
            while pos < len(replies) and not _matches(pattern, replies[pos]):
                pos += 1
            if pos == len(replies):
                return f"expected a reply matching {pattern!r} (in order), got {replies!r}"
            pos += 1
        return None
    if any(_matches(expected, r) for r in replies) or _matches(expected, "\n".join(replies)):
        return None
    return f"expected a reply matching {str(expected)!r}, got {replies!r}"


def check_absent(unwanted: Any, replies: list[str]) -> str | None:
    """None when no reply matches `unwanted` (a text, a /pattern/ or a list of them)."""
    for pattern in unwanted if isinstance(unwanted, list) else [unwanted]:
        hit = next((r for r in replies if _matches(pattern, r)), None)
        if hit is not None:
            return f"expected no reply matching {str(pattern)!r}, got {hit!r}"
    return None


@effect("case_opened")
async def _case_opened(session, person_id: int, expected: Any) -> str | None:
    cases = list((await session.execute(select(NeedRequest).where(NeedRequest.person_id == person_id))).scalars())
    if expected is False:
        return None if not cases else f"expected no case, found {[c.number for c in cases]}"
    if not cases:
        return "expected a case to be opened, found none"
    if isinstance(expected, dict):
        for case in cases:
            if all(str(getattr(case, k, None)) == str(v) for k, v in expected.items()):
                return None
        found = [{k: getattr(c, k, None) for k in expected} for c in cases]
        return f"expected a case with {dict(expected)}, found {found}"
    return None


@effect("enrollment")
async def _enrollment(session, person_id: int, expected: Any) -> str | None:
    rows = list((await session.execute(select(Enrollment).where(Enrollment.person_id == person_id))).scalars())
    statuses = [e.status for e in rows]
    if expected in (False, None, "none"):
        return None if not rows else f"expected no enrollment, found {statuses}"
    if expected is True:
        return None if rows else "expected an enrollment, found none"
    return None if str(expected) in statuses else f"expected an enrollment '{expected}', found {statuses}"


@effect("handoff_opened")
async def _handoff_opened(session, person_id: int, expected: Any) -> str | None:
    rows = list((await session.execute(select(Handoff).where(Handoff.person_id == person_id))).scalars())
    if expected is False:
        return None if not rows else f"expected no handoff, found {len(rows)}"
    if not rows:
        return "expected a handoff to be opened, found none"
    if isinstance(expected, dict):
        for h in rows:
            if all(str(getattr(h, k, None)) == str(v) for k, v in expected.items()):
                return None
        return f"expected a handoff with {dict(expected)}, found {[{k: getattr(h, k) for k in expected} for h in rows]}"
    return None


async def _conversation(session, person_id: int) -> Conversation | None:
    return (await session.execute(select(Conversation).where(Conversation.person_id == person_id))).scalar_one_or_none()


@effect("slot")
async def _slot(session, person_id: int, expected: Any) -> str | None:
    conv = await _conversation(session, person_id)
    slots = (conv.slots if conv else None) or {}
    for name, value in dict(expected).items():
        if str(slots.get(name)) != str(value):
            return f"expected slot {name} = {value!r}, found {slots.get(name)!r}"
    return None


@effect("flow")
async def _flow(session, person_id: int, expected: Any) -> str | None:
    conv = await _conversation(session, person_id)
    flow_id = conv.flow_id if conv else None
    want = None if expected in (None, "none", False) else str(expected)
    return None if flow_id == want else f"expected to be in flow {want!r}, found {flow_id!r}"


# ── running ──────────────────────────────────────────────────────────────────────────────


class ConversationRunner:
    """A fresh database with the given flows seeded, and the real dispatcher in front of it."""

    def __init__(self, db_url: str, flow_dirs: Iterable[Path], *, nlu: Any = None, registry=None,
                 emergency_detector: Any = None, now: datetime | None = None, migrate: bool = True,
                 demo: bool = False):
        self.db_url = db_url
        self.demo = demo  # seed the demo villages, staff and activities (xiangzhu seed --demo)
        self.flow_dirs = [Path(d) for d in flow_dirs]
        self.nlu = nlu
        self.registry = registry
        self.emergency_detector = emergency_detector
        self.now = now or datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)  # a Monday, 10:00 in China
        self.services = None
        self.migrate = migrate  # False: the database is already at the newest schema
        from bot import conversation_effects  # noqa: F401  (the mission's effects register on import)
        self._counter = 0

    async def __aenter__(self) -> "ConversationRunner":
        from bot.config import load_settings
        from bot.services import Services
        from flows.runtime import FlowRuntime
        from flows.store import seed_builtin
        from storage import migrate
        from storage.db import Database

        if self.migrate:
            migrate.upgrade(self.db_url)
        db = Database(self.db_url)
        runtime = FlowRuntime(registry=self.registry)
        async with db.session() as session:
            for directory in self.flow_dirs:
                await seed_builtin(session, directory, registry=runtime.registry)
            if self.demo:
                from bot.gazetteer import load_rows
                from storage.demo import seed_demo

                await seed_demo(session, self.now.date())
                if hasattr(self.nlu, "set_gazetteer"):
                    self.nlu.set_gazetteer(*await load_rows(session))
        settings = load_settings(database_url=self.db_url)
        self.services = Services(settings, db, nlu=self.nlu, handler=runtime,
                                 emergency_detector=self.emergency_detector, clock=lambda: self.now)
        self._db = db
        return self

    async def __aexit__(self, *exc) -> None:
        await self.services.stop()
        await self._db.dispose()

    async def send(self, sender: str, text: str = "", payload: str = "", locale: str = "zh",
                   channel: str = "rest") -> list:
        self._counter += 1
        inbound = Inbound(channel=channel, sender=sender, text=text, payload=payload,
                          message_id=f"{sender}-{self._counter}", locale_hint=locale)
        return await self.services.dispatcher.handle(inbound)

    async def person_id(self, channel: str, sender: str) -> int | None:
        async with self._db.session() as session:
            row = (await session.execute(select(ChannelIdentity.person_id).where(
                ChannelIdentity.channel == channel, ChannelIdentity.external_id == sender))).scalar_one_or_none()
        return row

    async def run(self, test: ConversationTest) -> list[TestFailure]:
        failures: list[TestFailure] = []
        self._counter += 1
        sender = f"ct{self._counter}"
        for n, step in enumerate(test.steps, 1):
            text = "" if step.get("user") is None else str(step.get("user"))
            out = await self.send(sender, text, str(step.get("press") or ""), test.locale, test.channel)
            replies = [o.text for o in out]
            problem = check_replies(step.get("bot"), replies)
            if problem is None and step.get("not_bot") is not None:
                problem = check_absent(step["not_bot"], replies)
            if problem is None and step.get("buttons") is not None:
                titles = [b.title for o in out for b in o.buttons]
                missing = [t for t in step["buttons"] if not any(_matches(t, x) for x in titles)]
                if missing:
                    problem = f"expected buttons {list(step['buttons'])}, got {titles}"
            if problem is not None:
                said = step.get("user", step.get("press"))
                failures.append(TestFailure(test.name, test.where, f"turn {n} ({said!r}): {problem}"))
                return failures
        person_id = await self.person_id(test.channel, sender)
        async with self._db.session() as session:
            for name, expected in test.expect.items():
                check = EFFECTS.get(name)
                if check is None:
                    failures.append(TestFailure(test.name, test.where, f"unknown effect '{name}' "
                                                f"(known: {', '.join(sorted(EFFECTS))})"))
                    continue
                problem = await check(session, person_id, expected)
                if problem:
                    failures.append(TestFailure(test.name, test.where, f"{name}: {problem}"))
        return failures


async def run_tests(paths: Iterable[Path], flow_dirs: Iterable[Path], *, nlu: Any = None, registry=None,
                    emergency_detector: Any = None, demo: bool = False) -> tuple[int, list[TestFailure]]:
    """Run every test in `paths`, each on its own copy of one freshly prepared SQLite database
    (so one test's sign-ups never fill another's activity); returns (count, failures)."""
    import shutil

    tests = [t for p in paths for t in load_tests(Path(p))]
    flow_dirs = list(flow_dirs)
    failures: list[TestFailure] = []
    with tempfile.TemporaryDirectory(prefix="xz-flowtest-") as tmp:
        template = Path(tmp) / "template.db"
        async with ConversationRunner(f"sqlite+aiosqlite:///{template}", flow_dirs, nlu=nlu, registry=registry,
                                      emergency_detector=emergency_detector, demo=demo):
            pass
        for i, test in enumerate(tests):
            copy = Path(tmp) / f"test-{i}.db"
            shutil.copyfile(template, copy)
            async with ConversationRunner(f"sqlite+aiosqlite:///{copy}", flow_dirs, nlu=nlu, registry=registry,
                                          emergency_detector=emergency_detector, demo=demo,
                                          migrate=False) as runner:
                failures.extend(await runner.run(test))
            copy.unlink()
    return len(tests), failures
