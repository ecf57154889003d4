"""A social worker's messages to the bot (Telegram and WeChat alike): commands as slash
forms or Chinese words, and anything else relayed to the villager of their current handoff.

    /queue 队列 · /claim N 接 N · /skip N 跳过 N · /switch N 切换 N · /note T 备注 T ·
    /case [编号] 个案 · /status S 状态 S · /r NAME 回复 NAME · /flag [N] R 关注 [N] R ·
    /transfer WHO 转给 WHO · /release 放回 · /close OUTCOME 结束 · /duty on|off 上班 下班 ·
    /mine 我的 · /help 帮助

Casework by case number (bot/desk/casework.py): /case N 个案 N (its summary) · /task N done
任务 N 完成 · /refer N AGENCY [REASON] 转介 N 机构 · /flag N REASON 关注 N 原因 · /match N
match N 配对 N (the best offers, numbered) · link K 链接 K, /link N K (link one to the case).
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Awaitable, Callable

from bot.desk import casework, service
from bot.desk.service import DeskError
from flows.answers import pick_number
from flows.turn import Turn
from storage import routing
from storage.cases import STATUS_WORDS as CASE_STATUS_WORDS
from storage.handoffs import PRIORITY_LABEL
from vocab.masking import mask

HELP = """社工命令（斜杠或中文都行）：
队列 /queue — 等待中的求助
接 N /claim N — 认领第 N 号
切换 N /switch N — 同时接几个时，切换回复对象
我的 /mine — 我认领的
备注 内容 /note — 私人备注，村民看不到
个案 /case — 给当前求助新开个案
个案 N /case N — 看个案 N（计划、任务、转介）
任务 N 完成 /task N done — 任务 N 做完了
转介 N 机构 /refer N 机构 — 转介给机构（“转介 N”看机构列表）
配对 N /match N — 找能帮个案 N 的资源；再回“链接 1”/ link 1
状态 处理中|等材料|已解决 /status — 改个案状态
回复 名字 /r NAME — 发常用回复
关注 原因 /flag — 标记当前村民防返贫关注（关注 N 原因：个案 N 的一户）
转给 谁 /transfer WHO — 转给同事
放回 /release — 放回队列
结束 结果 /close OUTCOME — 结束对话
上班 / 下班 /duty on|off
其他文字直接发给当前村民。"""

# (command, Chinese words) → the canonical name
WORDS = {
    "queue": ("/queue", "队列"), "claim": ("/claim", "接", "认领"), "skip": ("/skip", "跳过"),
    "switch": ("/switch", "切换"), "note": ("/note", "备注"), "case": ("/case", "个案"),
    "status": ("/status", "状态"), "saved": ("/r", "回复"), "flag": ("/flag", "关注"),
    "transfer": ("/transfer", "转给"), "release": ("/release", "放回"), "close": ("/close", "结束"),
    "duty": ("/duty",), "on": ("上班",), "off": ("下班",), "mine": ("/mine", "我的"),
    "task": ("/task", "任务"), "refer": ("/refer", "转介"), "match": ("/match", "match", "配对"),
    "link": ("/link", "link", "链接"),
    "help": ("/help", "帮助", "/start", "help"),
}
_LOOKUP = {w.lower(): name for name, words in WORDS.items() for w in words}
# words that are whole commands only when nothing follows them (so "结束了吗" is a message)
_BARE = {"queue", "release", "on", "off", "mine", "help"}
_NUMBERED = {"claim", "skip", "switch"}
# words that are commands only when a number (a case, a task, a choice) follows them
_CASEWORK = {"task", "refer", "match", "link"}
_STARTS_WITH_NUMBER = re.compile(r"\s*#?(?:XZ-\d{4}-)?[\d０-９]+.*|\s*[一二三四五六七八九十①-⑩]", re.IGNORECASE | re.DOTALL)
MATCH_KEY = "desk_match"  # the worker's conversation state: the offers last shown for a case


@dataclass(frozen=True)
class Command:
    name: str
    arg: str


def parse(text: str) -> Command | None:
    """A command, or None for a message to the villager. A Chinese word counts only when it
    starts the message and is followed by a space or the argument a command needs."""
    text = (text or "").strip()
    if not text:
        return None
    if text.startswith("/"):
        head, _, arg = text.partition(" ")
        head = head.split("@")[0].lower()
        name = _LOOKUP.get(head)
        return Command(name, arg.strip()) if name else Command("unknown", text)
    for word, name in sorted(_LOOKUP.items(), key=lambda kv: -len(kv[0])):
        if word.startswith("/") or not text.lower().startswith(word):
            continue
        rest = text[len(word):]
        if name in _BARE:
            if not rest.strip():
                return Command(name, "")
            continue
        if name in _CASEWORK:
            if _STARTS_WITH_NUMBER.fullmatch(rest):
                return Command(name, rest.strip())
            continue
        if name in _NUMBERED:
            m = re.fullmatch(r"\s*#?(\d+)\s*(认领)?", rest)
            if m:
                return Command(name, m.group(1))
            continue
        if rest[:1].isspace() or rest[:1] in ("：", ":") or (name == "case" and not rest):
            return Command(name, rest.strip(" ：:\t"))
    return None


def _number(arg: str) -> int:
    m = re.fullmatch(r"#?(\d+)", arg.strip())
    if not m:
        raise DeskError("请写上编号，例如：接 12", "give the number, e.g. /claim 12", 422)
    return int(m.group(1))


class WorkerDesk:
    """Handles one turn of a staff member's messenger."""

    def __init__(self, turn: Turn, staff_id: int, rules: routing.DeskRules):
        self.turn, self.staff_id, self.rules = turn, staff_id, rules
        self.session, self.now = turn.session, turn.now

    async def handle(self) -> None:
        turn = self.turn
        self.scope = await service.scope_for_staff(self.session, self.staff_id)
        text = turn.payload if (turn.payload or "").startswith("/") else turn.text
        cmd = parse(text)
        try:
            if cmd is None:
                await self._relay()
            else:
                handler: Callable[[str], Awaitable[str | None]] = getattr(self, f"do_{cmd.name}")
                said = await handler(cmd.arg)
                if said:
                    turn.say(said)
        except DeskError as exc:
            turn.say(exc.zh)

    async def _current(self):
        h = await service.current(self.session, self.scope)
        if h is None:
            claimed = await service.mine(self.session, self.scope)
            if claimed:
                ids = "、".join(f"#{x.id}" for x in claimed)
                raise DeskError(f"您同时接着 {ids}，请先“切换 N”选一个。", "several open: /switch N first", 409)
            raise DeskError("您现在没有认领的求助。发“队列”看等待的，“帮助”看命令。",
                            "you have no claimed handoff; /queue, /help", 409)
        return h

    async def _relay(self) -> None:
        h = await self._current()
        attachments = [asdict(a) for a in self.turn.attachments]
        await service.reply(self.session, self.scope, h.id, self.turn.text, now=self.now, attachments=attachments)

    async def do_unknown(self, arg: str) -> str:
        return "没有这个命令。\n" + HELP

    async def do_help(self, arg: str) -> str:
        return HELP

    async def do_queue(self, arg: str) -> str:
        views = await service.queue(self.session, self.scope)
        waiting = [v for v in views if v.handoff.status == "waiting"]
        if not waiting:
            return "队列是空的，没有等待的求助。"
        lines = [f"等待中 {len(waiting)} 个（回复“接 N”认领）："]
        for v in waiting[:10]:
            s = v.summary
            where = " · ".join(p for p in (s.village or "未知村", s.name, s.case_label()) if p)
            lines.append(f"#{s.handoff_id} {PRIORITY_LABEL.get(s.priority, '')}{where}：{s.asked.strip()[:40]}")
        return mask("\n".join(lines))

    async def do_mine(self, arg: str) -> str:
        claimed = await service.mine(self.session, self.scope)
        if not claimed:
            return "您现在没有认领的求助。"
        current = await service.current(self.session, self.scope)
        return "我认领的：" + "、".join(f"#{h.id}{'（当前）' if current and h.id == current.id else ''}"
                                       for h in claimed)

    async def do_claim(self, arg: str) -> str:
        result = await service.claim(self.session, self.scope, _number(arg), now=self.now)
        h = result.handoff
        if not result.won:
            if h.status == "closed":
                return f"#{h.id} 已经结束了。"
            return f"#{h.id} 已由{result.taken_by or '别人'}认领。"
        view = await service.view(self.session, self.scope, h.id)
        s = view.summary
        lines = [f"您认领了 #{h.id}：{s.name}（{s.village or '未知村'}{' · ' + s.case_label() if s.case_label() else ''}）"]
        if s.asked:
            lines.append("问：" + s.asked.strip()[:300])
        lines.append("现在直接发消息就是回复村民；“结束 结果”结束，“帮助”看命令。")
        return mask("\n".join(lines))

    async def do_skip(self, arg: str) -> str:
        h = await service.skip(self.session, self.scope, _number(arg))
        return f"好的，跳过 #{h.id}。"

    async def do_switch(self, arg: str) -> str:
        h = await service.switch(self.session, self.scope, _number(arg))
        s = (await service.view(self.session, self.scope, h.id)).summary
        return f"现在回复 #{h.id}（{s.name}）。"

    async def do_note(self, arg: str) -> str:
        h = await self._current()
        await service.note(self.session, self.scope, h.id, arg, now=self.now)
        return f"已记下 #{h.id} 的备注（村民看不到）。"

    async def do_case(self, arg: str) -> str:
        if not arg:  # a new case from the current handoff's conversation
            h = await self._current()
            case = await service.link_case(self.session, self.scope, h.id, "", now=self.now)
            return f"#{h.id} 已关联个案 {case.number}。"
        case, text = await casework.summary(self.session, self.scope, arg, now=self.now)
        h = await service.current(self.session, self.scope)
        if h is not None and h.person_id == case.person_id and h.case_id != case.id:
            await service.link_case(self.session, self.scope, h.id, case.number, now=self.now)
            text = f"#{h.id} 已关联个案 {case.number}。\n" + text
        return text

    async def do_task(self, arg: str) -> str:
        m = re.fullmatch(r"#?([\d０-９]+)\s*(.*)", arg.strip(), re.DOTALL)
        ref, word = (m.group(1), m.group(2)) if m else (arg, "")
        if word.strip().lower() not in ("done", "完成", "已完成", "做完了", "好了", "ok"):
            raise DeskError("请写：任务 N 完成（/task N done）", "use /task N done", 422)
        task, case = await casework.task_done(self.session, self.scope, ref, now=self.now)
        return f"任务 {task.id}「{task.title}」已完成（个案 {case.number}）。"

    async def do_refer(self, arg: str) -> str:
        ref, _, rest = arg.partition(" ")
        agency, _, reason = rest.strip().partition(" ")
        if not agency:
            await casework.find_case(self.session, self.scope, ref, change=True)
            return casework.agencies_text(await casework.numbered_agencies(self.session))
        _, case, found = await casework.refer(self.session, self.scope, ref, agency, reason, now=self.now)
        return f"个案 {case.number} 已转介给{found.name}（已告诉村民）。"

    async def do_match(self, arg: str) -> str:
        shown = await casework.matches(self.session, self.scope, arg, now=self.now)
        state = dict(self.turn.conversation.state or {})
        state[MATCH_KEY] = {"case": shown.case.number, "offers": [c.offer.id for c in shown.candidates]}
        self.turn.conversation.state = state
        return shown.text

    async def do_link(self, arg: str) -> str:
        parts = arg.split()
        if len(parts) >= 2:  # /link N K: the K-th of case N's offers as ranked now
            shown = await casework.matches(self.session, self.scope, parts[0], now=self.now)
            case, offers, pick = shown.case, [c.offer.id for c in shown.candidates], " ".join(parts[1:])
        else:
            last = (self.turn.conversation.state or {}).get(MATCH_KEY)
            if not last:
                raise DeskError("先发“配对 个案号”看可用的帮助，再回“链接 1”。", "send /match N first", 409)
            case = await casework.find_case(self.session, self.scope, last["case"])
            offers, pick = last["offers"], arg
        k = pick_number(pick.translate(casework.FULL_WIDTH), len(offers)) if offers else None
        if k is None:
            raise DeskError(f"请写 1 到 {len(offers)} 之间的号码。" if offers else "这个个案现在没有可用的帮助。",
                            "pick one of the numbers shown", 422)
        match, offer = await casework.link(self.session, self.scope, case, offers[k], now=self.now)
        return (f"已把“{offer.offerer_name}”配给个案 {case.number}（配对 #{match.id}，待确认）。"
                f"请联系对方确认，在网页或 API 上记下确认。")

    async def do_status(self, arg: str) -> str:
        h = await self._current()
        case = await service.set_status(self.session, self.scope, h.id, arg, now=self.now)
        return f"个案 {case.number} 状态：{CASE_STATUS_WORDS['zh'][case.status]}（已告诉村民）。"

    async def do_saved(self, arg: str) -> str | None:
        if not arg:
            answers = await service.list_saved(self.session, self.scope)
            return ("常用回复：" + "、".join(a.name for a in answers)) if answers else "还没有常用回复。"
        h = await self._current()
        await service.reply_saved(self.session, self.scope, h.id, arg, now=self.now)
        return None

    async def do_flag(self, arg: str) -> str:
        first, _, reason = arg.partition(" ")
        if casework.case_ref(first) is not None:  # 关注 N 原因: the household of case N
            case, created = await casework.flag_case(self.session, self.scope, first, reason, now=self.now)
            return (f"已标记个案 {case.number} 这户为防返贫关注，每月会问一次近况。" if created
                    else f"个案 {case.number} 这户已经在防返贫关注中。")
        h = await self._current()
        await service.flag(self.session, self.scope, h.id, arg, now=self.now)
        return f"已标记 #{h.id} 这户为防返贫关注。"

    async def do_transfer(self, arg: str) -> str:
        h = await self._current()
        await service.transfer(self.session, self.scope, h.id, arg or None)
        return f"#{h.id} 已转给 {arg}。" if arg else f"#{h.id} 已放回队列。"

    async def do_release(self, arg: str) -> str:
        h = await self._current()
        await service.release(self.session, self.scope, h.id, now=self.now, rules=self.rules)
        return f"#{h.id} 已放回队列。"

    async def do_close(self, arg: str) -> str:
        h = await self._current()
        await service.close(self.session, self.scope, h.id, arg, now=self.now)
        return f"#{h.id} 已结束，村民回到机器人。"

    async def do_duty(self, arg: str) -> str:
        word = arg.strip().lower()
        if word not in ("on", "off", "上班", "下班"):
            raise DeskError("请写 /duty on 或 /duty off（上班 / 下班）", "use /duty on or /duty off", 422)
        return await self._duty(word in ("on", "上班"))

    async def do_on(self, arg: str) -> str:
        return await self._duty(True)

    async def do_off(self, arg: str) -> str:
        return await self._duty(False)

    async def _duty(self, on: bool) -> str:
        until = await service.set_duty(self.session, self.scope, on, now=self.now, rules=self.rules)
        local = until.astimezone(self.rules.tz)
        return (f"已上班，会收到新求助，到 {local:%m-%d %H:%M}。" if on
                else f"已下班，不再收到通知，到 {local:%m-%d %H:%M}。您仍可发“队列”认领。")
