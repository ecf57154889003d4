"""Policy knowledge search: which policy is a question about, and which passage answers it.

BM25 (rank-bm25) over jieba tokens, twice: over passages (the title, each keyword, each
sentence-sized piece of a policy's text) and over whole documents. A policy scores the mean
of its best passage and its document score (each divided by the best of its kind), plus a
boost for the ``policy`` entity (given, or found in the question by the parser's lexicon).
A question that describes a situation (摔断了腿, 屋顶漏, 没本钱) also scores the words of the
circumstances it means, in the records' own terms (the situation lexicon,
``nlu/data/kb_lexicon.yml``); then a policy named only as the household's status
(我们是低保户) gets no boost, and the records decide.
A household status said beside a need (我们是低保户 房子漏雨; ``nlu/data/kb_status.yml``) leaves
the query, so the need ranks the policies; those whose "who qualifies" names the status get a
small boost (2026-12-07) — also when the lexicon knows none of the rest's words but the learnt
scorer is sure it is about another policy (我们是低保户 心脏要搭桥; round kb9).
A learnt scorer (``nlu/kb_model.py``: character n-grams and words, trained on the records'
passages and the dev situations) adds its probability, most when the lexicon found nothing —
the words of someone the lexicon was not written from (third round, 2026-12-07).
The top three are then ordered by comparing them two at a time on the parts of their scores
(``nlu/kb_rerank.py``; eleventh round, 2026-12-07); the scores keep their places.
An index is immutable and cached per knowledge-base version id (``PolicyIndex.build``
returns the cached one for a version it has seen), so a publish — a new version id — makes
the next question use a fresh index in every process.
"""
from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import yaml
from rank_bm25 import BM25Okapi

from nlu.canonical import DIALECT, TYPOS
from nlu.kb_model import situation_model
from nlu.kb_rerank import TOP, Evidence, rerank
from nlu.normalize import normalize
from nlu.tokenize import words

__all__ = ["KbHit", "PolicyDoc", "PolicyIndex", "clear_cache"]

ENTITY_BOOST = 0.5  # added to the normalized score of the policy the question names
# the learnt scorer's probability (nlu/kb_model.py) is added with this weight: beside what the
# situation lexicon found, more when the lexicon found nothing (an outsider's words), less when
# the question names a policy, none when the caller gives the policy entity (chosen by
# cross-validation on the dev files, docs/nlu.md)
MODEL_WEIGHT = 1.0
SILENT_WEIGHT = 1.5
NAMED_WEIGHT = 0.5
# a status beside words the lexicon lacks: the rest is a need when the learnt scorer gives another
# policy at least this probability (kb9 round, docs/nlu.md)
NEED_PROBABILITY = 0.65
ELIGIBLE_BOOST = 0.15  # added to each policy whose "who qualifies" names the household's status
PASSAGE_WEIGHT = 0.5  # score = w · best passage + (1 − w) · whole document, each scaled to the best
_CACHE_SIZE = 8
_cache: OrderedDict[str, "PolicyIndex"] = OrderedDict()
_cache_lock = threading.Lock()

_STOP = set("the a an is are am i my me our we you your to of for and or in on at it be do does can how what who which there this that with".split()) | set("的 了 吗 呢 吧 啊 呀 是 我 你 他 她 们 有 在 和 与 及 或 就 都 也 还 要 能 会 可以 怎么 什么 哪 哪里 多少 这 那 个 一 不 没 没有 请问 想 问 下 一下 给 对 把 被 让 从 到 为 着 过 啥 咋 俺 吧 嘛 么 很 又 再 等".split())
_SPLIT = re.compile(r"[。;；!！?？\n]|(?<=[,，])(?=.{25,})")


@dataclass(frozen=True, slots=True)
class PolicyDoc:
    policy_id: str
    title: str
    text: str  # every field of the policy joined
    keywords: list[str] = field(default_factory=list)
    who: str = ""  # the record's "who qualifies": eligibility, for the household-status boost


@dataclass(frozen=True, slots=True)
class KbHit:
    policy_id: str
    score: float
    passage: str


# the typo and dialect tables' keys of two or more characters, longest first, per table
_FOLDS = [(table, [k for k in sorted(table, key=len, reverse=True) if len(k) >= 2]) for table in (TYPOS, DIALECT)]


def _fold(text: str) -> str:
    text = normalize(text)
    for table, keys in _FOLDS:
        for k in keys:
            if k in text:
                text = text.replace(k, table[k])
    return text


def _tokens(text: str) -> list[str]:
    return _folded_tokens(_fold(text))


def _folded_tokens(folded: str) -> list[str]:
    toks = [w for w in words(folded) if w not in _STOP and not re.fullmatch(r"[\W_]+", w)]
    # character bigrams of Chinese words catch partial overlaps (学费/学杂费)
    grams = [w[i : i + 2] for w in toks if len(w) > 2 and not w.isascii() for i in range(len(w) - 1)]
    return toks + grams


SITUATIONS = Path(__file__).parent / "data" / "kb_lexicon.yml"


@dataclass(frozen=True, slots=True)
class _Lexicon:
    """The situation lexicon: each circumstance's words (tokens, in the records' terms) and,
    by first character, the everyday phrases that mean it, longest first."""

    circumstances: list[list[str]]
    phrases: dict[str, list[tuple[str, int]]]
    # (narrower, broader, statuses): when both are found and the household has one of the
    # statuses (or always, for None), only the narrower counts
    narrows: list[tuple[int, int, frozenset[str] | None]]

    def found(self, text: str, statuses: frozenset[str] = frozenset()) -> set[int]:
        """The circumstances a question describes: every phrase found anywhere in it."""
        out: set[int] = set()
        for i, ch in enumerate(text):
            for phrase, circumstance in self.phrases.get(ch, ()):
                if text.startswith(phrase, i):
                    out.add(circumstance)
        return out - {broad for narrow, broad, when in self.narrows
                      if narrow in out and (when is None or when & statuses)}


@lru_cache(maxsize=1)
def _situations() -> _Lexicon:
    raw = yaml.safe_load(SITUATIONS.read_text(encoding="utf-8")) or {}
    pairs = raw.pop("_narrows", None) or []
    keys = list(raw)
    phrases: dict[str, list[tuple[str, int]]] = {}
    seen: set[str] = set()
    for i, (circumstance, said) in enumerate(raw.items()):
        for phrase in said:
            phrase = normalize(str(phrase)).lower()
            if phrase and phrase not in seen:
                seen.add(phrase)
                phrases.setdefault(phrase[0], []).append((phrase, i))
    for group in phrases.values():
        group.sort(key=lambda pc: -len(pc[0]))
    narrows = [(keys.index(n["narrower"]), keys.index(n["broader"]), frozenset(n["when"]) if "when" in n else None)
               for n in pairs]
    return _Lexicon([_tokens(str(c)) for c in raw], phrases, narrows)


def _situation(text: str, folded: str, statuses: frozenset[str] = frozenset()) -> list[int]:
    """The circumstances (indexes into the lexicon) of the situation a question describes,
    found in its own words and in its dialect-folded form."""
    lexicon = _situations()
    return sorted(lexicon.found(normalize(text).lower() + "\n" + folded.lower(), statuses))


STATUSES = Path(__file__).parent / "data" / "kb_status.yml"


@dataclass(frozen=True, slots=True)
class _Status:
    """A household status (低保户, 脱贫户, …): how people say it, the words the records'
    "who qualifies" use for it, and the policy it is (none for 脱贫/监测)."""

    name: str
    policy: str | None
    terms: tuple[str, ...]
    said: tuple[str, ...]  # longest first


@lru_cache(maxsize=1)
def _statuses() -> list[_Status]:
    raw = yaml.safe_load(STATUSES.read_text(encoding="utf-8")) or {}
    out = []
    for name, entry in raw.items():
        said = sorted({normalize(str(p)).lower() for p in entry.get("said", ())}, key=lambda p: (-len(p), p))
        terms = tuple(normalize(str(t)).lower() for t in entry.get("terms", ()))
        out.append(_Status(str(name), entry.get("policy"), terms, tuple(said)))
    return out


def _strip_statuses(text: str) -> tuple[str, list[_Status]]:
    """The question without the words that name the household's status, and those statuses."""
    rest = normalize(text).lower()
    found = []
    for status in _statuses():
        hit = False
        for phrase in status.said:
            if phrase in rest:
                rest = rest.replace(phrase, " ")
                hit = True
        if hit:
            found.append(status)
    return rest, found


def _passages(doc: PolicyDoc) -> list[str]:
    pieces = [doc.title, *doc.keywords]
    pieces += [p.strip() for p in _SPLIT.split(doc.text) if len(p.strip()) >= 4]
    return pieces


class _TermScores:
    """`BM25Okapi.get_scores`, precomputed by term: for each term, the documents that hold it
    and their score, with rank-bm25's arithmetic (the other documents add zero). A question
    then costs a few array additions instead of a Python loop over every passage per token."""

    def __init__(self, bm25: BM25Okapi):
        self.size = bm25.corpus_size
        base = bm25.k1 * (1 - bm25.b + bm25.b * np.array(bm25.doc_len) / bm25.avgdl)
        postings: dict[str, tuple[list[int], list[int]]] = {}
        for i, freqs in enumerate(bm25.doc_freqs):
            for term, f in freqs.items():
                docs, counts = postings.setdefault(term, ([], []))
                docs.append(i)
                counts.append(f)
        self.terms: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for term, (docs, counts) in postings.items():
            idx, f = np.array(docs), np.array(counts)
            self.terms[term] = (idx, (bm25.idf.get(term) or 0) * (f * (bm25.k1 + 1) / (f + base[idx])))

    def scores(self, query: Sequence[str]) -> np.ndarray:
        score = np.zeros(self.size)
        for q in query:
            hit = self.terms.get(q)
            if hit is not None:
                score[hit[0]] += hit[1]
        return score


class PolicyIndex:
    def __init__(self, docs: Sequence[PolicyDoc], version_id: str):
        self.version_id = version_id
        self.docs = {d.policy_id: d for d in docs}
        self._owners: list[str] = []
        self._texts: list[str] = []
        corpus = []
        for d in docs:
            for passage in _passages(d):
                toks = _tokens(passage)
                if d.title == passage or passage in d.keywords:
                    toks = toks * 2  # names and keywords say what a policy is about
                if toks:
                    self._owners.append(d.policy_id)
                    self._texts.append(passage)
                    corpus.append(toks)
        self._bm25 = _TermScores(BM25Okapi(corpus)) if corpus else None
        # passages are grouped by policy, in order: (policy, first, end) for each group
        self._groups = []
        for i, owner in enumerate(self._owners):
            if self._groups and self._groups[-1][0] == owner:
                self._groups[-1][2] = i + 1
            else:
                self._groups.append([owner, i, i + 1])
        self._doc_ids = [d.policy_id for d in docs]
        doc_corpus = [_tokens(" ".join([d.title, *d.keywords, d.keywords and " ".join(d.keywords) or "", d.text])) for d in docs]
        self._doc_bm25 = _TermScores(BM25Okapi(doc_corpus)) if docs else None
        self._surfaces = self._entity_surfaces(docs)
        # for each status, the policies whose "who qualifies" names it (not the status's own)
        self._eligible = {
            st.name: {d.policy_id for d in docs if d.policy_id != st.policy
                      and any(t in normalize(d.who).lower() for t in st.terms)}
            for st in _statuses()
        }
        # BM25 is a sum over query terms: each circumstance's share is computed once, here
        circumstances = _situations().circumstances
        # the learnt scorer (nlu/kb_model.py): the records' passages and the labelled situations
        self._model = situation_model([(d.policy_id, [*_passages(d), d.who]) for d in docs], _fold)
        self._situation_scores = [
            (self._bm25.scores(c) if self._bm25 else None, self._doc_bm25.scores(c) if self._doc_bm25 else None)
            for c in circumstances
        ]

    @classmethod
    def build(cls, docs: Sequence[PolicyDoc], version_id: str) -> "PolicyIndex":
        """The index for ``version_id``: cached, or built from ``docs``."""
        with _cache_lock:
            index = _cache.get(version_id)
            if index is not None:
                _cache.move_to_end(version_id)
                return index
        index = cls(docs, version_id)
        with _cache_lock:
            _cache[version_id] = index
            while len(_cache) > _CACHE_SIZE:
                _cache.popitem(last=False)
        return index

    @staticmethod
    def _entity_surfaces(docs: Sequence[PolicyDoc]) -> list[tuple[str, str]]:
        from nlu.training_data import load_training_data

        data = load_training_data()
        pairs = [(normalize(s), data.synonyms.get(normalize(s), "")) for s in data.lookups.get("policy", ())]
        ids = {d.policy_id for d in docs}
        pairs += [(normalize(d.title), d.policy_id) for d in docs]
        # longest first; ties by name, so the first found does not follow the string-hash seed
        return sorted({(s, p) for s, p in pairs if p in ids and s}, key=lambda sp: (-len(sp[0]), sp))

    def policy_in(self, text: str) -> str | None:
        """The policy the question names, by the longest name or synonym found in it."""
        norm = normalize(text)
        for surface, policy_id in self._surfaces:
            if surface in norm:
                return policy_id
        return None

    def named_as_status(self, text: str, policy_id: str) -> bool:
        """True when the question names the policy only as the household's status ("我们是低保户",
        "监测户家的孩子") — it says who asks, not what they ask about."""
        norm = normalize(text)
        found = [s for s, p in self._surfaces if p == policy_id and s in norm]
        whole = [s for s in found if not any(s != o and s in o for o in found)]  # 低保 inside 低保户
        return bool(whole) and all(s.endswith("户") for s in whole)

    def _learnt_need(self, rest: str, own: set[str]) -> bool:
        """The learnt scorer is sure the rest of the question is about another policy than the
        household's status (心脏要搭桥 beside 低保户: words the situation lexicon lacks)."""
        if self._model is None:
            return False
        probs = self._model.probabilities(_fold(rest))
        pid, p = max(probs.items(), key=lambda kv: kv[1])
        return pid not in own and p >= NEED_PROBABILITY

    def search(self, text: str, k: int = 3, policy_entity: str | None = None) -> list[KbHit]:
        scored = self.scored(text, policy_entity)
        hits = scored.hits
        if not scored.named and len(hits) > 1:  # a named policy decides: its boost stands
            hits = _reranked(scored)
        return hits[:k]

    def scored(self, text: str, policy_entity: str | None = None) -> "_Scored":
        """Every policy that scores, best first, with the parts of each score (before the
        top three are compared, ``nlu/kb_rerank.py``)."""
        if self._bm25 is None:
            return _Scored([], {}, {}, {}, False, False)
        eligible: set[str] = set()
        rest, statuses = _strip_statuses(text)
        if statuses:
            own = {st.policy for st in statuses if st.policy}
            named_rest = self.policy_in(rest)  # the rest names a policy (危房)
            need = named_rest not in own and (named_rest is not None or bool(_situation(rest, _fold(rest)))
                                              or self._learnt_need(rest, own))
            if need:  # status beside a need: search the need, boost who qualifies
                text = rest
                for st in statuses:
                    eligible |= self._eligible.get(st.name, set())
                if policy_entity in own:
                    policy_entity = None
        folded = _fold(text)
        situation = _situation(text, folded, frozenset(st.name for st in statuses))
        query = _folded_tokens(folded)
        named = policy_entity or self.policy_in(text)
        if situation and named and self.named_as_status(text, named):
            named = None  # a household describing its situation: the records decide
        best: dict[str, tuple[float, str]] = {}
        if query or situation:
            scores = self._bm25.scores(query)
            for c in situation:
                scores += self._situation_scores[c][0]
            for owner, first, end in self._groups:
                i = first + int(scores[first:end].argmax())  # the first best passage of the policy
                if owner not in best or scores[i] > best[owner][0]:
                    best[owner] = (float(scores[i]), self._texts[i])
        top = max((s for s, _ in best.values()), default=0.0) or 1.0
        # each policy's parts: best passage and document (each scaled to the best), model
        passage = {pid: s / top for pid, (s, _) in best.items()}
        document: dict[str, float] = {}
        model: dict[str, float] = {}
        ranked = {pid: (PASSAGE_WEIGHT * passage[pid], p) for pid, (_, p) in best.items()}
        if (query or situation) and self._doc_bm25 is not None:
            whole = self._doc_bm25.scores(query)
            for c in situation:
                whole += self._situation_scores[c][1]
            doc_top = float(max(whole)) or 1.0
            for pid, score in zip(self._doc_ids, whole):
                document[pid] = float(score) / doc_top
                s, p = ranked.get(pid, (0.0, self.docs[pid].title))
                ranked[pid] = (s + (1 - PASSAGE_WEIGHT) * document[pid], p)
        given = named in self.docs and named == policy_entity
        if named in self.docs:  # the NLU's entity (given) decides; a name found in the text weighs less
            weight = 0.0 if given else NAMED_WEIGHT
        else:
            weight = MODEL_WEIGHT if situation else SILENT_WEIGHT
        if self._model is not None and weight and (query or situation):
            for pid, p in self._model.probabilities(folded).items():
                if pid in self.docs:
                    model[pid] = p
                    score, passage_text = ranked.get(pid, (0.0, self.docs[pid].title))
                    ranked[pid] = (score + weight * p, passage_text)
        if named in self.docs:
            score, passage_text = ranked.get(named, (0.0, self.docs[named].title))
            ranked[named] = (score + ENTITY_BOOST, passage_text)
        for pid in eligible:
            if pid in ranked:
                score, passage_text = ranked[pid]
                ranked[pid] = (score + ELIGIBLE_BOOST, passage_text)
        hits = [KbHit(pid, round(s, 4), p) for pid, (s, p) in ranked.items() if s > 0]
        hits.sort(key=lambda h: -h.score)
        return _Scored(hits, passage, document, model, bool(situation), named in self.docs)


@dataclass(frozen=True, slots=True)
class _Scored:
    """A question's hits, best score first, and the parts of their scores."""

    hits: list[KbHit]
    passage: dict[str, float]  # best passage's BM25 / the best policy's
    document: dict[str, float]  # document BM25 / the best document's
    model: dict[str, float]  # the learnt scorer's probability (when it was asked)
    situation: bool  # the situation lexicon found a circumstance
    named: bool  # the caller gave the policy entity or the question names a policy: it decides

    def evidence(self, pid: str, score: float) -> Evidence:
        return Evidence(score, self.passage.get(pid, 0.0), self.document.get(pid, 0.0), self.model.get(pid, 0.0))


def _reranked(scored: _Scored) -> list[KbHit]:
    """The top three ordered by their pairwise comparison (``nlu/kb_rerank.py``). The scores keep
    their places — the first hit's score is still the best the search found, which the policy
    flow's thresholds read — and the policies move among them (chosen over capping a passed hit
    at the lifted one's score by the flow's answers on the cross-validated dev lines, docs/nlu.md)."""
    hits = scored.hits
    by_id = {h.policy_id: h for h in hits}
    evidence = {h.policy_id: scored.evidence(h.policy_id, h.score) for h in hits[:TOP]}
    order = rerank([h.policy_id for h in hits], evidence, scored.situation)
    return [KbHit(pid, place.score, by_id[pid].passage) for pid, place in zip(order, hits)]


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()
