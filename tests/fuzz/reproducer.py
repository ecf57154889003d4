"""A failing walk as a conversation test file (flows/FORMAT.md): the messages up to the
violation, the replies actually received as comments, and on the failing turn the invariant
that broke as the step's expectation, so `xiangzhu flows test FILE` fails until it is fixed."""
from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

from tests.fuzz.walk import APOLOGIES, NOT_UNDERSTOOD, Violation

MAX_COMMENT = 160
SEVERITY = ["exception", "apology", "silence", "bad_state", "repeat_mismatch", "choice_refused"]


def _q(text: str) -> str:
    """A YAML double-quoted scalar (JSON's escapes are YAML's)."""
    return json.dumps(text, ensure_ascii=False)


def _comment(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_COMMENT else text[:MAX_COMMENT] + "…"


def _reply_lines(replies: list[dict], indent: str) -> list[str]:
    if not replies:
        return [f"{indent}# (no reply)"]
    lines = []
    for r in replies:
        buttons = " | ".join(f"{b.get('title')} = {b.get('payload')}" for b in r.get("buttons") or [])
        lines.append(f"{indent}# bot: {_comment(r.get('text', ''))}" + (f"  [{_comment(buttons)}]" if buttons else ""))
    return lines


def _expectation(v: Violation, indent: str) -> list[str]:
    """The failing turn's check, in the conversation test format."""
    texts = [r.get("text", "") for r in v.turns[-1].replies]
    if v.kind == "silence":
        return [f"{indent}bot: /\\S/  # at least one reply"]
    if v.kind == "apology":
        return [f"{indent}not_bot: [{', '.join(_q(t) for t in sorted(APOLOGIES))}]"]
    if v.kind == "choice_refused":
        refused = [t for t in texts if t in NOT_UNDERSTOOD] or texts[-1:]
        return [f"{indent}not_bot: [{', '.join(_q(t) for t in refused)}]  # the choice was not taken"]
    return [f"{indent}# {v.kind} cannot be checked by a conversation test; see the header"]


def to_yaml(v: Violation, *, seed: int, replayed: bool | None = None) -> str:
    flow, step = v.where
    at = f"{flow}/{step}" if flow else "no flow"
    lines = [
        f"# Found by the conversation fuzzer (tests/fuzz): seed {seed}, walk {v.walk}, {v.database}.",
        f"# {v.kind}: {_comment(v.detail)}",
        "# Earlier replies are comments (what the bot said then); the last step checks the invariant.",
        *([] if replayed is None else [
            "# Replayed on a fresh demo database: " + ("fails at the last step, as found." if replayed else
                                                       "does NOT fail (it needs what earlier walks left).")]),
        "tests:",
        f"  - name: {_q(f'fuzz {v.kind} at {at} (seed {seed}, walk {v.walk})')}",
        f"    locale: {v.locale}",
        "    steps:",
    ]
    for i, turn in enumerate(v.turns):
        last = i == len(v.turns) - 1
        if turn.worker:
            lines.append(f"      # here a worker {turn.worker}ed the handoff (not expressible as a step)")
        if turn.kind == "repeat" and not last:
            lines.append("      # (a repeated delivery of an earlier message: stored replies, no new step)")
            continue
        key = "press" if turn.text.strip().startswith("/") else "user"
        lines.append(f"      - {key}: {_q(turn.text.strip() if key == 'press' else turn.text)}  # {turn.kind}")
        lines.extend(_reply_lines(turn.replies, "        "))
        if last:
            lines.extend(_expectation(v, "        "))
    return "\n".join(lines) + "\n"


def file_name(v: Violation) -> str:
    flow, step = v.where
    parts = [v.kind, flow or "noflow", step or "", v.tag]
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", "-".join(p for p in parts if p)) + ".yaml"


async def replay(violations: list[Violation], *, seed: int, nlu) -> list[bool]:
    """Run each reproducer as a conversation test on a fresh demo database (SQLite), the way
    `xiangzhu flows test` does: True where it fails at its last step, as the walk did."""
    from bot.conversation_tests import load_tests, run_tests
    from flows.registry import load_actions
    from nlu.emergency import detect
    from tests.fuzz.database import BUILTIN

    with tempfile.TemporaryDirectory(prefix="xz-fuzz-replay-") as tmp:
        paths = []
        for i, v in enumerate(violations):
            path = Path(tmp) / f"{i}.yaml"
            path.write_text(to_yaml(v, seed=seed), encoding="utf-8")
            paths.append(path)
        last_turn = {str(p): len(load_tests(p)[0].steps) for p in paths}
        _, failures = await run_tests(paths, [BUILTIN], nlu=nlu, registry=load_actions(), emergency_detector=detect,
                                      demo=True)
        failed_last = set()
        for f in failures:
            file = f.where.rsplit(":", 1)[0]
            if f.message.startswith(f"turn {last_turn[file]} "):
                failed_last.add(file)
        return [str(p) in failed_last for p in paths]


def save(violations: list[Violation], replayed: list[bool], directory: Path, *, seed: int,
         limit: int = 15) -> list[Path]:
    """Write up to `limit` reproducers: those that fail on a fresh database first, the worst
    kinds first."""
    directory.mkdir(parents=True, exist_ok=True)
    ranked = sorted(zip(violations, replayed), key=lambda p: (not p[1], SEVERITY.index(p[0].kind)))[:limit]
    written = []
    for v, ok in ranked:
        path = directory / file_name(v)
        path.write_text(to_yaml(v, seed=seed, replayed=ok), encoding="utf-8")
        written.append(path)
    return written
