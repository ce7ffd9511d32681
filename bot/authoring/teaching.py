"""The admin loop: turn unanswered questions into knowledge edits, previewed, safe and undoable.

An admin reviewing unanswered clusters can attach a cluster's wordings to an entry (its nearest,
or one they pick), add a synonym when the cluster differs from an entry by one word, or ignore
the cluster. Every edit is planned first (`plan_*`): the knowledge base as it would be is
checked like `kbbot kb check` and replayed against a regression set (bot/authoring/preview.py), and the
admin sees what would change. Nothing is written until `confirm`; then the file is replaced
atomically, the change recorded (bot/authoring/history.py) and the cluster's wordings marked handled, so
they stop coming back. Clusters are addressed by a key derived from their wordings, stored when
they are shown: a question logged meanwhile cannot shift which cluster a button acts on, and two
admins acting on the same cluster at once cannot both succeed (the log's write lock decides).

Front ends (bot/telegram/teach.py, the shell) call this; it knows nothing of Telegram.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
from collections.abc import Callable, Collection, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.answering.engine import Engine
from bot.answering.knowledge import Entry, KnowledgeError
from bot.answering.matcher import Matcher
from bot.answering.text import is_cjk
from bot.authoring import history, kbedit
from bot.authoring.history import Actor
from bot.authoring.kbedit import EditError, FileChange
from bot.authoring.preview import MAX_REPLAYED, compare, format_preview, regression_questions
from bot.questionlog.protocol import Handled, QuestionLog
from bot.questionlog.records import new_ref
from bot.review import report
from bot.review.report import REPORT_TZ, Cluster
from bot.review.suggest import new_wordings

ATTACH, IGNORE, SYNONYM, UNDO = "attach", "ignore", "synonym", "undo"
RECENT = timedelta(days=90)  # the log's answered questions a preview replays
MAX_CANDIDATES = 6  # entries offered by 选其他条目
MAX_SYNONYM_CHARS = 8
# Parts of question words: a difference in how people ask is not a synonym.
_ASKING = ("几", "多少", "什么", "哪", "怎", "谁", "吗", "呢", "啥", "是否", "有没有")
_VERBS = {ATTACH: "归入条目", IGNORE: "忽略", SYNONYM: "加了同义词"}


@dataclass(frozen=True)
class ReviewItem:
    """An unanswered cluster as it was shown to an admin, stored under `key`."""

    key: str
    count: int
    users: int
    examples: tuple[str, ...]  # wordings as asked (masked), most asked first
    forms: tuple[str, ...]  # every wording it stands for: as asked and normalised
    nearest: str | None  # the nearest entry's id, when close enough to offer
    last_asked: str  # ISO time

    @classmethod
    def of(cls, cluster: Cluster) -> ReviewItem:
        keys = cluster.keys or (cluster.key,)
        nearest = cluster.nearest
        close = nearest is not None and nearest.score >= report.NEAREST_SHOWN
        return cls(
            key=cluster_key(cluster),
            count=cluster.count,
            users=cluster.users,
            examples=cluster.examples,
            forms=tuple(dict.fromkeys([*keys, *(w.strip() for w in cluster.examples)])),
            nearest=nearest.entry_id if close and nearest is not None else None,
            last_asked=cluster.last_asked.isoformat(),
        )

    @classmethod
    def from_body(cls, key: str, body: dict[str, object]) -> ReviewItem | None:
        try:
            return cls(
                key=key,
                count=int(str(body["count"])),
                users=int(str(body["users"])),
                examples=tuple(str(w) for w in _list(body["examples"])),
                forms=tuple(str(f) for f in _list(body["forms"])),
                nearest=None if body.get("nearest") is None else str(body["nearest"]),
                last_asked=str(body["last_asked"]),
            )
        except (KeyError, TypeError, ValueError):
            return None

    def body(self) -> dict[str, object]:
        """The stored form (JSON), without the key it is stored under."""
        fields = asdict(self)
        del fields["key"]
        return {**fields, "examples": list(self.examples), "forms": list(self.forms)}


def _list(value: object) -> list[object]:
    if not isinstance(value, list):
        raise TypeError("not a list")
    return value


def cluster_key(cluster: Cluster) -> str:
    """A short key naming a cluster by what it holds (the same wordings give the same key)."""
    forms = "\n".join(sorted(cluster.keys or (cluster.key,)))
    return hashlib.blake2s(forms.encode(), digest_size=6).hexdigest()


@dataclass(frozen=True)
class Planned:
    """A previewed edit: `token` names it for 确认/取消 (None when there is nothing to confirm,
    and `text` says why)."""

    token: str | None
    text: str


@dataclass(frozen=True)
class Outcome:
    done: bool
    text: str


def handled_text(handled: Handled) -> str:
    when = handled.handled_at.astimezone(REPORT_TZ).strftime("%m-%d %H:%M")
    verb = _VERBS.get(handled.action, "处理")
    return f"这组问题已由 {handled.actor_name} 在 {when} {verb}，这次没有再改。"


class Teacher:
    """The admin loop over one engine (the one being served) and its knowledge folder."""

    def __init__(self, engine: Engine, regression_set: Path | None) -> None:
        if engine.directory is None:
            raise EditError("没有知识库目录，不能修改")
        self.engine = engine
        self.folder: Path = engine.directory
        self.regression_set = regression_set

    @property
    def matcher(self) -> Matcher:
        return self.engine.review_matcher

    # --- reviewing ------------------------------------------------------------------------------

    async def list_clusters(
        self, qlog: QuestionLog, limit: int
    ) -> tuple[list[Cluster], list[ReviewItem]]:
        """The latest unanswered clusters not yet handled, each stored under its key."""
        skip = await qlog.handled_forms()
        clusters = await report.latest_unanswered(qlog, limit, self.matcher, skip=skip)
        items = [ReviewItem.of(cluster) for cluster in clusters]
        for item in items:
            await qlog.save_review_cluster(item.key, item.body())
        return clusters, items

    async def item(self, qlog: QuestionLog, key: str) -> ReviewItem | None:
        body = await qlog.review_cluster(key)
        return ReviewItem.from_body(key, body) if body is not None else None

    def entry(self, entry_id: str | None) -> Entry | None:
        return self.matcher.kb.by_id.get(entry_id) if entry_id else None

    def candidates(self, item: ReviewItem, limit: int = MAX_CANDIDATES) -> list[Entry]:
        """Entries the cluster's wordings come closest to, best first (for 选其他条目)."""
        totals: dict[str, float] = {}
        for wording in item.examples[:5]:
            for candidate in self.matcher.rank(wording):
                entry_id = candidate.entry.id
                totals[entry_id] = totals.get(entry_id, 0.0) + candidate.confidence
        ranked = sorted(totals, key=lambda e: (-totals[e], e))
        return [self.matcher.kb.by_id[e] for e in ranked[:limit]]

    def synonym_for(self, item: ReviewItem) -> tuple[str, str] | None:
        """(word of the report, the cluster's word) when a wording of the cluster differs from
        a phrasing of its nearest entry by exactly one word, else None."""
        entry = self.entry(item.nearest)
        if entry is None:
            return None
        matcher = self.matcher
        known = set(matcher.kb.synonyms) | set(matcher.kb.synonyms.values())
        terms = known | {t for e in matcher.kb.entries for t in (e.topic, *e.keywords)}
        phrases = [matcher.normalise(p) for p in (*entry.questions, *entry.keywords)]
        for wording in item.examples[:3]:
            asked = matcher.normalise(wording)
            for phrase in phrases:
                pair = _one_word_apart(asked, phrase, matcher.segmenter.words, terms)
                if pair is not None and pair[1] not in known:
                    return pair
        return None

    # --- planning -------------------------------------------------------------------------------

    async def plan_attach(
        self, qlog: QuestionLog, item: ReviewItem, entry_id: str, actor: Actor
    ) -> Planned:
        """Preview adding the cluster's new wordings to entry `entry_id`."""
        handled = await qlog.handled(item.forms)
        if handled is not None:
            return Planned(None, handled_text(handled))
        entry = self.entry(entry_id)
        if entry is None:
            return Planned(None, "这个条目已经不在知识库里了，请重新打开 /unanswered。")
        wordings = new_wordings(item.examples, self.matcher)
        if not wordings:
            return Planned(
                None,
                "这组问法在知识库里都已经有了（或含有已隐去的个人信息），不用再加。"
                "可以选「忽略」。",
            )
        summary = f"在「{entry.topic}」加入 {len(wordings)} 个问法：" + "、".join(
            f"“{w}”" for w in wordings
        )
        try:
            change = kbedit.plan_questions(
                self.folder, self.matcher.kb, entry_id, wordings, summary
            )
        except (EditError, OSError) as exc:
            return Planned(None, f"不能修改：{exc}")
        what = f"预览：把这组问题归入「{entry.topic}」\n将加入的问法：\n" + "\n".join(
            f"· {w}" for w in wordings
        )
        return await self._plan(
            qlog, change, what, actor, kind=ATTACH, item=item, target=entry_id, focus=item.examples
        )

    async def plan_synonym(self, qlog: QuestionLog, item: ReviewItem, actor: Actor) -> Planned:
        """Preview the synonym `synonym_for` proposes."""
        handled = await qlog.handled(item.forms)
        if handled is not None:
            return Planned(None, handled_text(handled))
        pair = self.synonym_for(item)
        if pair is None:
            return Planned(None, "这组问题和最接近的条目不只差一个词，没有可以建议的同义词。")
        canonical, variant = pair
        summary = f"同义词：把“{variant}”当作“{canonical}”"
        try:
            change = kbedit.plan_synonym(self.folder, canonical, variant, summary)
        except (EditError, OSError) as exc:
            return Planned(None, f"不能修改：{exc}")
        what = (
            f"预览：在同义词表里加入“{variant}”＝“{canonical}”\n"
            f"（所有问题里的“{variant}”都会按“{canonical}”理解）"
        )
        return await self._plan(
            qlog,
            change,
            what,
            actor,
            kind=SYNONYM,
            item=item,
            target=canonical,
            focus=item.examples,
        )

    async def plan_undo(self, qlog: QuestionLog, actor: Actor) -> Planned:
        """Preview reverting the newest change not yet undone (hand edits noticed first)."""
        await history.note_hand_edits(qlog, self.folder)
        last = await qlog.last_undoable(history.folder_key(self.folder))
        if last is None:
            return Planned(None, "没有可以撤销的修改。")
        change = history.revert_of(last)
        what = f"预览：撤销 #{last.id}（{last.summary}，{last.actor_name}，{last.file}）"
        return await self._plan(qlog, change, what, actor, kind=UNDO, undoes=last.id)

    async def _plan(
        self,
        qlog: QuestionLog,
        change: FileChange,
        what: str,
        actor: Actor,
        *,
        kind: str,
        item: ReviewItem | None = None,
        target: str | None = None,
        focus: Sequence[str] = (),
        undoes: int | None = None,
    ) -> Planned:
        try:
            kb = await asyncio.to_thread(kbedit.validate, self.folder, [change])
        except KnowledgeError as exc:
            problems = "\n".join(f"· {p.message}" for p in kbedit.errors_of(exc)[:5])
            return Planned(None, f"{what}\n\n改后的知识库检查不通过，没有修改：\n{problems}")
        logged = await qlog.answered_questions(datetime.now(UTC) - RECENT, MAX_REPLAYED)
        questions = regression_questions((q for q, _, _ in logged), self.regression_set)
        current = self.engine
        candidate = await asyncio.to_thread(Engine, kb, None, current.thresholds)
        preview = await asyncio.to_thread(compare, current, candidate, questions, focus)
        token = new_ref()
        await qlog.save_pending(
            token,
            {
                "kind": kind,
                "cluster": item.key if item else None,
                "forms": list(item.forms) if item else [],
                "target": target,
                "undoes": undoes,
                "change": asdict(change),
                "actor": actor.hash,
            },
        )
        return Planned(token, format_preview(preview, what))

    # --- doing ----------------------------------------------------------------------------------

    async def confirm(self, qlog: QuestionLog, token: str, actor: Actor) -> Outcome:
        """Apply the previewed edit `token`: exactly the text previewed, or nothing."""
        body = await qlog.take_pending(token)
        if body is None:
            return Outcome(False, "这个预览已经确认、取消或过期了。需要的话请重新操作。")
        if body.get("actor") != actor.hash:
            return Outcome(False, "只有发起预览的管理员可以确认。")
        change = _change(body.get("change"))
        if change is None:
            return Outcome(False, "这个预览已经无法读取，请重新操作。")
        kind = str(body.get("kind"))
        cluster = body.get("cluster")
        undoes = body.get("undoes")
        if isinstance(cluster, str):
            forms = [str(f) for f in _list(body.get("forms", []))]
            target = body.get("target")
            handled = await qlog.claim_forms(
                cluster,
                forms,
                action=kind,
                target=None if target is None else str(target),
                actor_name=actor.name,
            )
            if handled is not None:
                return Outcome(False, handled_text(handled))
        if isinstance(undoes, int):
            reverted = await qlog.change(undoes)
            if reverted is None or reverted.undone_by is not None:
                return Outcome(False, f"#{undoes} 已经撤销过了。")
        try:
            done = await history.commit(
                qlog, self.folder, change, actor, undoes=undoes if isinstance(undoes, int) else None
            )
        except (EditError, KnowledgeError, OSError) as exc:
            if isinstance(cluster, str):
                await qlog.release_forms(cluster)
            reason = exc if isinstance(exc, EditError) else "改后的知识库检查不通过"
            if isinstance(exc, OSError):
                reason = f"写入文件失败（{exc.strerror or exc}）"
            return Outcome(False, f"没有修改：{reason}")
        return Outcome(True, f"已修改（#{done.id}）：{change.summary}。")

    async def ignore(self, qlog: QuestionLog, item: ReviewItem, actor: Actor) -> Outcome:
        """Mark the cluster handled without changing the knowledge base."""
        handled = await qlog.claim_forms(
            item.key, item.forms, action=IGNORE, target=None, actor_name=actor.name
        )
        if handled is not None:
            return Outcome(False, handled_text(handled))
        return Outcome(True, "已忽略这组问题，它不会再出现在未回答的问题里。")


def _change(raw: object) -> FileChange | None:
    if not isinstance(raw, dict):
        return None
    try:
        return FileChange(**{k: raw[k] for k in FileChange.__dataclass_fields__})
    except (KeyError, TypeError):
        return None


def _one_word_apart(
    asked: str, stored: str, words: Callable[[str], list[str]], terms: Collection[str] = ()
) -> tuple[str, str] | None:
    """(stored word, asked word) when two normalised questions differ in one place only, by a
    word worth a synonym: the rest (two characters or more) is the same.

    Compared by characters, not segmented words: the segmenter knows the knowledge base's own
    terms (合作律师事务所 is one word) but not the asker's (律师楼 is 律师 + 楼). A difference of
    one character on either side borrows the asked word before it (`words` segments), so
    合作律师楼 / 合作律师事务所 gives 律师楼 / 律师事务所, not 楼 / 事务所; that is proposed
    only when the result is one of the knowledge base's `terms` (执法证换 / 执法证发 is not).
    Question words (几件 / 数量) are how people ask, not what about: never proposed.
    """
    start = 0
    while start < min(len(asked), len(stored)) and asked[start] == stored[start]:
        start += 1
    end = 0
    while (
        end < min(len(asked), len(stored)) - start
        and asked[len(asked) - 1 - end] == stored[len(stored) - 1 - end]
    ):
        end += 1
    variant, canonical = asked[start : len(asked) - end], stored[start : len(stored) - end]
    if not variant or not canonical:
        return None
    if (len(variant) < 2 or len(canonical) < 2) and start > 0:
        bounds = list(itertools.accumulate(len(w) for w in words(asked[:start])))
        borrowed = start - (bounds[-2] if len(bounds) > 1 else 0)
        start -= borrowed
        variant, canonical = (
            asked[start : start + borrowed] + variant,
            stored[start:][: borrowed + len(canonical)],
        )
        if canonical not in terms:
            return None
    if any(word in variant + canonical for word in _ASKING):
        return None
    shared = len(asked) - len(variant)
    if shared < 2 or max(len(variant), len(canonical)) > MAX_SYNONYM_CHARS:
        return None
    if not (_word(variant) and _word(canonical)):
        return None
    return canonical, variant


def _word(text: str) -> bool:
    if text.isascii():
        return text.isalpha() and len(text) >= 2
    return len(text) >= 2 and all(is_cjk(ch) for ch in text)
