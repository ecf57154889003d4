"""The validator's and the translations check's messages in Chinese, for the flow editor's
Chinese page. The checks write each problem once, in English (`file:line:column: message`, as
the CLI prints it); `in_language(message, "zh")` renders it in Chinese by the sentence patterns
below, keeping the quoted names, numbers and the "did you mean" word as they are. A message no
pattern knows stays in English rather than being half translated.

    in_language("step 'ask_days': unknown key 'sya' — did you mean 'say'?", "zh")
    → "步骤 'ask_days'：未知的键 'sya'——是不是想写 'say'？"
"""
from __future__ import annotations

import re

__all__ = ["in_language"]

_DID_YOU_MEAN = re.compile(r" — did you mean '(?P<word>.*)'\?$")
_Q = r"'(?P<{}>[^']*)'"  # a quoted name


def _q(name: str) -> str:
    return _Q.format(name)


# ── the subjects of sentences: steps, slots, texts ───────────────────────────────────────

_LANGUAGES = {"Chinese (zh)": "中文 (zh)", "English (en)": "英文 (en)"}


def _label(text: str) -> str:
    """step 'x' / step 3 / slot 'x' / the question of step 'x' / step 'x': button 2 …"""
    m = re.fullmatch(r"(?P<head>.+?): (?P<tail>button (?P<n>\d+)|the choice '(?P<v>[^']*)'|argument '(?P<a>[^']*)')",
                     text)
    if m:
        head = _label(m["head"])
        if m["n"]:
            return f"{head}的第 {m['n']} 个按钮"
        if m["v"] is not None:
            return f"{head}的选项 '{m['v']}'"
        return f"{head}的参数 '{m['a']}'"
    m = re.fullmatch(r"the (?P<part>title|message|question|retry message|skip button|summary) of (?P<of>.+)", text)
    if m:
        part = {"title": "标题", "message": "消息", "question": "问题", "retry message": "重问的话",
                "skip button": "跳过按钮", "summary": "转人工摘要"}[m["part"]]
        return f"{_label(m['of'])}的{part}"
    if text == "the title":
        return "流程标题"
    if text == "this":
        return "这一项"
    m = re.fullmatch(r"step '(?P<id>[^']*)'", text)
    if m:
        return f"步骤 '{m['id']}'"
    m = re.fullmatch(r"step (?P<n>\d+)", text)
    if m:
        return f"第 {m['n']} 步"
    m = re.fullmatch(r"slot '(?P<id>[^']*)'", text)
    if m:
        return f"信息项 '{m['id']}'"
    return text


# ── sentences: (English pattern, Chinese template) ───────────────────────────────────────
# {label} in a pattern is a subject (_label); the Chinese template gets it translated.

_L = r"(?P<label>.+?)"
_SENTENCES: list[tuple[str, str]] = [
    # validate.py: the file's shape
    (r"this is not valid YAML: (?P<rest>.*)", "这不是有效的 YAML：{rest}"),
    (r"a flow file must be a list of key: value lines \(id, title, steps …\)",
     "流程文件必须是“键: 值”的若干行（id、title、steps …）"),
    (r"the flow has no steps", "这个流程没有步骤"),
    (_L + r": unknown key " + _q("key"), "{label}：未知的键 '{key}'"),
    (r"unknown key " + _q("key"), "未知的键 '{key}'"),
    (_L + r": " + _q("field") + r" is missing in " + _q("parent"), "{label}：'{parent}' 里缺少 '{field}'"),
    (_L + r": " + _q("field") + r" is missing", "{label}：缺少 '{field}'"),
    (_q("field") + r" is missing in " + _q("parent"), "'{parent}' 里缺少 '{field}'"),
    (_q("field") + r" is missing", "缺少 '{field}'"),
    (r"(?:" + _L + r": )?the text of " + _q("parent") + r" was cut at a comma or colon; put it in quotes",
     "{label}'{parent}' 的文字在逗号或冒号处被截断了；请给它加上引号"),
    (r"(?:" + _L + r": )?" + _q("field") + r" should be text, not (?P<given>.*)", "{label}'{field}' 应该是文字，不能是 {given}"),
    (r"(?:" + _L + r": )?" + _q("field") + r" should be a whole number, not (?P<given>.*)",
     "{label}'{field}' 应该是整数，不能是 {given}"),
    (r"(?:" + _L + r": )?" + _q("field") + r" should be a number, not (?P<given>.*)", "{label}'{field}' 应该是数字，不能是 {given}"),
    (r"(?:" + _L + r": )?" + _q("field") + r" should be true or false, not (?P<given>.*)",
     "{label}'{field}' 应该是 true 或 false，不能是 {given}"),
    (r"(?:" + _L + r": )?" + _q("field") + r" should be a list of key: value lines, not (?P<given>.*)",
     "{label}'{field}' 应该是若干“键: 值”行，不能是 {given}"),
    (r"(?:" + _L + r": )?" + _q("field") + r" should be a list \(lines starting with '-'\), not (?P<given>.*)",
     "{label}'{field}' 应该是列表（以 '-' 开头的行），不能是 {given}"),
    (r"(?:" + _L + r": )?" + _q("field") + r" cannot be (?P<given>.*); use (?P<expected>.*)",
     "{label}'{field}' 不能是 {given}；请用 {expected}"),
    (_L + r" should be key: value lines \(say:, ask:, …\), not (?P<given>.*)",
     "{label}应该是若干“键: 值”行（say:、ask: …），不能是 {given}"),
    (_L + r" does nothing: it needs one of (?P<kinds>.*)", "{label}什么也不做：它需要以下之一：{kinds}"),
    (_L + r" has both " + _q("a") + r" and " + _q("b") + r"; put them in two steps",
     "{label}同时有 '{a}' 和 '{b}'；请分成两步"),
    (_L + r" calls the flow " + _q("target") + r", which does not exist", "{label}调用的流程 '{target}' 不存在"),
    # semantics.py: names, jumps, slots, texts
    (r"two steps are called " + _q("id") + r"; step ids must differ", "有两个步骤都叫 '{id}'；步骤编号不能重复"),
    (r"the flow id " + _q("id") + r" may only use lower-case letters, digits and _",
     "流程编号 '{id}' 只能用小写字母、数字和 _"),
    (r"the flow id " + _q("id") + r" should be the file name \(" + _q("want") + r", not " + _q("have") + r"\)",
     "流程编号 '{id}' 应该和文件名一致（'{want}'，而不是 '{have}'）"),
    (r"the trigger " + _q("p") + r" fills " + _q("n") + r", but there is no slot " + _q("m"),
     "触发 '{p}' 填写 '{n}'，但没有信息项 '{m}'"),
    (r"the trigger pattern " + _q("p") + r" is not a regular expression: (?P<rest>.*)",
     "触发模式 '{p}' 不是有效的正则表达式：{rest}"),
    (r"the trigger pattern " + _q("p") + r" fills " + _q("n") + r", but there is no slot " + _q("m"),
     "触发模式 '{p}' 填写 '{n}'，但没有信息项 '{m}'"),
    (r"a trigger keyword is empty", "有一个触发关键词是空的"),
    (_q("n") + r" cannot be a slot name \(it is reserved or not a plain word\)",
     "'{n}' 不能作为信息项名称（它是保留字，或不是一个简单的词）"),
    (_L + r": " + _q("key") + r" only applies to number slots", "{label}：'{key}' 只适用于数字类型的信息项"),
    (_L + r": " + _q("key") + r" only applies to text slots", "{label}：'{key}' 只适用于文字类型的信息项"),
    (_L + r" is a choice, but has no choices", "{label}是选择题，但没有选项"),
    (_L + r": the choice " + _q("v") + r" is listed twice", "{label}：选项 '{v}' 列了两次"),
    (_L + r" has an unknown language " + _q("lang") + r" \(use zh and en\)", "{label}有未知的语言 '{lang}'（请用 zh 和 en）"),
    (_q("path") + r" has no (?P<language>Chinese \(zh\)|English \(en\)) text", "'{path}' 缺少{language} 文字"),
    (_L + r" has no (?P<language>Chinese \(zh\)|English \(en\)) text", "{label}缺少{language} 文字"),
    (_L + r" uses \{\{(?P<name>[^}]*)\}\}, but there is no slot " + _q("head"),
     "{label}用了 {{{{{name}}}}}，但没有信息项 '{head}'"),
    (_L + r": the condition " + _q("expr") + r" names " + _q("head") + r", which is not a slot",
     "{label}：条件 '{expr}' 提到的 '{head}' 不是信息项"),
    (_L + r" jumps to " + _q("t") + r", which does not exist", "{label}跳转到的 '{t}' 不存在"),
    (_L + r" goes \(when the answers run out\) to " + _q("t") + r", which does not exist",
     "{label}（回答次数用完时）转到的 '{t}' 不存在"),
    (_L + r": an 'else' line has only a step to go to \(else: step_id\)", "{label}：'else' 行只写要去的步骤（else: 步骤编号）"),
    (_L + r": 'else' must be the last line of the branch", "{label}：'else' 必须是分支的最后一行"),
    (_L + r": each branch line needs 'if' and 'goto' \(or only 'else'\)", "{label}：每个分支行需要 'if' 和 'goto'（或只写 'else'）"),
    (_L + r" calls " + _q("t") + r", which is not a flow id", "{label}调用的 '{t}' 不是流程编号"),
    (_L + r" calls its own flow " + _q("t"), "{label}调用了自己所在的流程 '{t}'"),
    (_L + r" asks for slot " + _q("s") + r", which is not declared under 'slots'", "{label}要问的信息项 '{s}' 没有在 'slots' 里声明"),
    (_L + r": a (?P<type>\w+) slot cannot have choices", "{label}：{type} 类型的信息项不能有选项"),
    (_L + r": choices_from should name result\.something or a slot", "{label}：choices_from 应该写 result.某项 或一个信息项"),
    (_L + r" runs the action " + _q("a") + r", which does not exist", "{label}要执行的动作 '{a}' 不存在"),
    (_L + r" saves into slot " + _q("s") + r", which is not declared", "{label}保存到的信息项 '{s}' 没有声明"),
    (_L + r" can never be reached: no step leads to it", "{label}永远到不了：没有步骤通向它"),
    # translations.py: languages and lengths
    (_q("path") + r" \((?P<lang>\w+)\) is (?P<n>\d+) bytes; WeChat sends at most (?P<max>\d+)",
     "'{path}'（{lang}）有 {n} 字节；微信最多发送 {max} 字节"),
    (_q("path") + r" \((?P<lang>\w+)\) is (?P<n>\d+) characters; Telegram sends at most (?P<max>\d+)",
     "'{path}'（{lang}）有 {n} 个字符；Telegram 最多发送 {max} 个字符"),
    (_q("path") + r" \((?P<lang>\w+)\) is (?P<n>\d+) characters, more than a phone screen \((?P<max>\d+)\); shorten it",
     "'{path}'（{lang}）有 {n} 个字符，超过一屏手机（{max}）；请缩短"),
]
_COMPILED = [(re.compile(p, re.S), zh) for p, zh in _SENTENCES]


def _zh(body: str) -> str | None:
    for pattern, template in _COMPILED:
        m = pattern.fullmatch(body)
        if m is None:
            continue
        values = {k: (v or "") for k, v in m.groupdict().items()}
        if "label" in values:
            label = _label(values["label"]) if values["label"] else ""
            # an optional subject ends with its colon in Chinese ("步骤 'x'：")
            values["label"] = label + ("：" if label and template.startswith("{label}'") else "")
        if "language" in values:
            values["language"] = _LANGUAGES.get(values["language"], values["language"])
        return template.format(**values)
    return None


def in_language(message: str, lang: str) -> str:
    """The message in `lang` ("zh" or "en"); English as written when lang is not zh or no
    pattern knows the message."""
    if lang != "zh":
        return message
    m = _DID_YOU_MEAN.search(message)
    body = message[: m.start()] if m else message
    zh = _zh(body)
    if zh is None:
        return message
    return zh + (f"——是不是想写 '{m['word']}'？" if m else "")
