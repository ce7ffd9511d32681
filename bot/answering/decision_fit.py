"""Fit the answer / suggest / none decision models (bot/answering/decision_model.json).

    python -m bot.answering.decision_fit [--knowledge DIR] [--out FILE]

The training questions come from the knowledge base itself and from generated questions,
never from an evaluation set:
- every stored phrasing asked with itself left out of the index (leave-one-out): the right
  entry usually still wins, through its other phrasings;
- every stored phrasing asked with *all* of its entry's phrasings left out, so only the entry's
  keywords, topic, answer and report passage can find it: this is what a question worded in a
  way nobody wrote down looks like to the matcher;
- the same, reworded the way people talk: some content words kept, others dropped or swapped
  for spoken filler (这块, 平时, 到底), with filler added around it;
- the same with one or two characters swapped for others that sound alike, as pinyin input
  produces (法律顾问 -> 法律顾文); these two `VARIANTS` times each, so that the model rests on
  more than one random draw per phrasing;
- questions about everyday matters the report does not cover (a generated grid of topics and
  question frames, some with the report's own words such as 江汉区 or 2019年 mixed in, which
  is what a near miss looks like once bot/answering/constraints.py has caught years, places and counts).

A question whose best entry conflicts with what it pins down (another year, a count the entry
does not give; bot/answering/constraints.py) is left out: the engine answers those with what the report
does say, whatever the model thinks. The label is whether the best-ranked entry answers the
phrasing (1): it is the phrasing's own entry, or its answer states the same facts (every
figure and document title of the own entry's answer, or nearly all of its wording), as a
section summary does for its details. Generated questions about other matters are labelled 0.
The cut-offs are chosen on the same samples, each weighed as in the fit (every source the
same in total, however many questions it makes): a wrong answer costs `WRONG_ANSWER_COST`
times a right answer withheld.

The second model decides when a sentence of the report is worth quoting because no entry fits.
It is fitted the same way on the same questions asked of the report's sentences (entries
hidden); a sentence is right when it is one of the passages the phrasing's own entry rests on.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from bot.answering.covering import answers_for
from bot.answering.decision import FEATURES, MODEL_FILE, DecisionModel, DecisionModels, features
from bot.answering.document import fold
from bot.answering.knowledge import Entry, KnowledgeBase, load_knowledge
from bot.answering.matcher import Matcher
from bot.answering.text import fuzzy_pinyin, is_cjk

# The bar allows about 2% wrong answers for 5% of right answers withheld: a wrong
# answer is weighed as 2.5 answers withheld.
WRONG_ANSWER_COST = 2.5
# A wrong suggestion is cheap (the person sees it is not what they asked); a right entry not even
# offered sends them away: it weighs half a withheld one.
WRONG_SUGGESTION_COST = 0.5
L2 = 1.0
SEED = 20261202
# How many rewordings and mistypings of each stored phrasing the fit sees.
VARIANTS = 3

# Everyday matters people bring to a government bot that a rule-of-law work report does not
# cover, and the frames they come in. Written for this purpose, not taken from any question set.
OUTSIDE_TOPICS: tuple[str, ...] = tuple(
    """天气 气温 下雨 公积金 社保卡 医保 户口 护照 港澳通行证 驾照 身份证 居住证 地铁 公交卡 高考
    中考 房价 二手房 疫苗 垃圾分类 停车位 餐馆 电影票 股票 彩票 工资条 退休金 养老金 幼儿园
    小学入学 医院挂号 快递 外卖 旅游景点 酒店 机票 火车票 签证 结婚登记 离婚手续 生育津贴 个税
    发票 营业执照 商标注册 专利申请 房产证 租房合同 装修 物业费 车辆年检 违章停车 罚单 体检 核酸
    口罩 天然气 水电费 宽带 手机套餐 游戏 足球赛 演唱会 笑话 菜谱 热干面 黄鹤楼门票 东湖绿道
    光谷广场 天河机场 公交线路 出租车 学区房 奖学金 低保 廉租房 拆迁补偿 城管 噪音扰民 宠物 狗证
    献血 殡葬 出生证明 人才引进 创业补贴 失业金 加班费 年假 产假 医保报销 新冠 流感 健身房
    图书馆 博物馆 志愿者 捐款 电动车 共享单车 驾校 英语四级 考研 公务员考试 事业单位招聘""".split()
)
# Spoken words that wrap a question without naming its subject.
SPOKEN_FILLER: tuple[str, ...] = tuple(
    """这块 那个 平时 到底 一般 具体 咱们 现在 听说 这事 咋 搞 弄 啥 上面 老是 实际上 大概
    真的 主要 一直 之类 那些 这种 有关 这边 那边 怎么个 到底是 究竟 反正 其实 那么 这么
    人家 大家 他们 我们 单位里 区里 这方面 情况 东西 事情 问问 了解 知道 想问 帮忙 说说""".split()
)
# Everyday words that stand in for a term of the report when people say it their own way.
EVERYDAY_WORDS: tuple[str, ...] = tuple(
    """骨头 大事 小事 事儿 手续 麻烦 门道 路子 规矩 说法 名堂 底子 单子 窗口 跑腿 排队 大伙 街坊
    师傅 老板 家里 身边 地方 消息 动静 苗头 节骨眼 门槛 招数 法子 家底 账 活儿 摊子 茬 口子
    台面 档子 一摊 一块 那套 这套 章程 帮手 行家 内行 把式 点子 主意 花样 名目 头绪""".split()
)
OUTSIDE_FRAMES: tuple[str, ...] = (
    "{x}怎么办理",
    "{x}在哪里办",
    "{x}多少钱",
    "怎么申请{x}",
    "办{x}需要什么材料",
    "{x}什么时候开始",
    "江汉区的{x}怎么样",
    "2019年{x}有多少",
    "区政府对{x}有什么规定",
    "{x}的政策是什么",
    "我想问问{x}的事",
    "{x}",
    "江汉区{x}在哪",
    "{x}有什么要求",
)


@dataclass(frozen=True)
class Sample:
    values: list[float]
    label: int
    source: str


def questions(matcher: Matcher) -> Iterator[tuple[str, str, Collection[str], Entry | None]]:
    """Every training question (source, text, phrasings to leave out, own entry), in a fixed
    order with a fixed seed, so a refit of an unchanged knowledge base changes nothing."""
    rng = random.Random(SEED)
    sounds = _homophones(matcher)
    for entry in matcher.kb.entries:
        hidden = frozenset(entry.questions)
        for question in entry.questions:
            yield "leave-one-out", question, (question,), entry
            yield "unseen-wording", question, hidden, entry
            for _ in range(VARIANTS):
                yield "reworded", _reword(matcher, question, rng), hidden, entry
                yield "mistyped", _mistype(matcher, question, rng, sounds), hidden, entry
    for topic in OUTSIDE_TOPICS:
        for frame in OUTSIDE_FRAMES:
            yield "outside", frame.format(x=topic), (), None


def samples(matcher: Matcher) -> Iterator[Sample]:
    """Training samples for the entry model."""
    for source, question, exclude, own in questions(matcher):
        sample = _sample(matcher, question, exclude, source, own)
        if sample is not None:
            yield sample


def passage_samples(matcher: Matcher, sentences: Matcher) -> Iterator[Sample]:
    """Training samples for the passage model: the same questions asked of the report's
    sentences (`sentences`, see bot/answering/passages.py); a leave-one-out question is the same as an
    unseen one there, so it is asked once."""
    for source, question, _exclude, own in questions(matcher):
        if source == "leave-one-out":
            continue
        sample = _sample(sentences, question, (), source, own, _quotes)
        if sample is not None:
            yield sample


def _sample(
    matcher: Matcher,
    question: str,
    exclude: Collection[str],
    source: str,
    own: Entry | None,
    right: Callable[[Entry, Entry], bool] | None = None,
) -> Sample | None:
    ranked = matcher.rank(question, exclude=exclude)
    if not ranked:
        return None  # nothing shares a word: the matcher says "none" without the model
    if matcher.conflicts(matcher.frame(question), ranked[0].entry):
        return None  # answered with what the report does say, not by the model
    runner_up = ranked[1] if len(ranked) > 1 else None
    label = int(own is not None and (right or answers_for)(ranked[0].entry, own))
    return Sample(features(ranked[0], runner_up), label, source)


def _quotes(sentence: Entry, own: Entry) -> bool:
    """Whether a report sentence (a pseudo-entry) is one the own entry rests on."""
    quoted = fold(sentence.answer)
    return any(quoted in fold(passage) or fold(passage) in quoted for passage in own.passage)


def _reword(matcher: Matcher, question: str, rng: random.Random) -> str:
    """`question` as someone might say it: each content word kept with probability 0.6 (at
    least one kept), otherwise dropped, replaced by spoken filler, or replaced by an everyday
    word the knowledge base does not use (the way 难题 becomes 难啃的骨头); filler added
    around."""
    words = matcher.segmenter.words(matcher.normalise(question))
    content = {word for word, _ in matcher.content_words(" ".join(words))}
    keep_one = rng.choice(sorted(content)) if content else None
    out: list[str] = []
    for word in words:
        if word in content and word != keep_one and rng.random() >= 0.6:
            choice = rng.random()
            if choice < 1 / 3:
                out.append(rng.choice(SPOKEN_FILLER))
            elif choice < 2 / 3:
                out.append(rng.choice(EVERYDAY_WORDS))
            continue
        out.append(word)
    for _ in range(rng.randint(1, 2)):
        out.insert(rng.randint(0, len(out)), rng.choice(SPOKEN_FILLER))
    return "".join(out)


def _homophones(matcher: Matcher) -> dict[str, list[str]]:
    """Characters of the knowledge base, the report and the generated topics, by the folded
    pinyin the matcher compares them with."""
    texts = [
        text
        for entry in matcher.kb.entries
        for text in (*entry.questions, entry.answer, *entry.passage)
    ]
    texts += [*OUTSIDE_TOPICS, *SPOKEN_FILLER]
    if matcher.kb.document is not None:
        texts.append(matcher.kb.document.text)
    by_sound: dict[str, set[str]] = {}
    for text in texts:
        for char in text:
            if is_cjk(char):
                by_sound.setdefault(fuzzy_pinyin(char), set()).add(char)
    return {sound: sorted(chars) for sound, chars in by_sound.items()}


def _mistype(
    matcher: Matcher, question: str, rng: random.Random, sounds: dict[str, list[str]]
) -> str:
    """`question` with one or two of its content characters typed as a homophone."""
    chars = list(matcher.normalise(question))
    content = "".join(word for word, _ in matcher.content_words("".join(chars)))
    positions = [i for i, ch in enumerate(chars) if is_cjk(ch) and ch in content]
    for position in rng.sample(positions, min(len(positions), rng.randint(1, 2))):
        others = [c for c in sounds.get(fuzzy_pinyin(chars[position]), []) if c != chars[position]]
        if others:
            chars[position] = rng.choice(others)
    return "".join(chars)


# --- fitting --------------------------------------------------------------------------------


def fit(data: Sequence[Sample]) -> DecisionModel:
    """Logistic regression (Newton's method, L2) and cost-based cut-offs."""
    dims = len(FEATURES)
    mean = [sum(s.values[i] for s in data) / len(data) for i in range(dims)]
    scale = [
        math.sqrt(sum((s.values[i] - mean[i]) ** 2 for s in data) / len(data)) or 1.0
        for i in range(dims)
    ]
    rows = [[1.0, *((s.values[i] - mean[i]) / scale[i] for i in range(dims))] for s in data]
    labels = [s.label for s in data]
    # Each source weighs the same in total, so the generated grids cannot outvote the phrasings.
    per_source = Counter(s.source for s in data)
    weight = [len(data) / (len(per_source) * per_source[s.source]) for s in data]
    beta = [0.0] * (dims + 1)
    for _ in range(50):
        gradient = [0.0] * (dims + 1)
        hessian = [[0.0] * (dims + 1) for _ in range(dims + 1)]
        for row, label, w in zip(rows, labels, weight, strict=True):
            p = _sigmoid(sum(b * x for b, x in zip(beta, row, strict=True)))
            for i in range(dims + 1):
                gradient[i] += w * (p - label) * row[i]
                for j in range(i, dims + 1):
                    hessian[i][j] += w * p * (1 - p) * row[i] * row[j]
        for i in range(dims + 1):
            for j in range(i):
                hessian[i][j] = hessian[j][i]
            if i:
                gradient[i] += L2 * beta[i]
                hessian[i][i] += L2
        step = _solve(hessian, gradient)
        beta = [b - d for b, d in zip(beta, step, strict=True)]
        if max(abs(d) for d in step) < 1e-8:
            break
    model = DecisionModel(
        mean=tuple(mean),
        scale=tuple(scale),
        weights=tuple(beta[1:]),
        bias=beta[0],
        answer_at=0.5,
        suggest_at=0.5,
    )
    scored = [(model.probability(s.values), s.label, w) for s, w in zip(data, weight, strict=True)]
    answer_at = _cut(scored, cost_above_negative=WRONG_ANSWER_COST)
    suggest_at = min(answer_at, _cut(scored, cost_above_negative=WRONG_SUGGESTION_COST))
    return DecisionModel(
        mean=model.mean,
        scale=model.scale,
        weights=model.weights,
        bias=model.bias,
        answer_at=answer_at,
        suggest_at=suggest_at,
        training={
            "samples": dict(sorted(per_source.items())),
            "right_entry_first": {
                source: sum(s.label for s in data if s.source == source)
                for source in sorted(per_source)
            },
            "wrong_answer_cost": WRONG_ANSWER_COST,
            "wrong_suggestion_cost": WRONG_SUGGESTION_COST,
        },
    )


def _cut(scored: Sequence[tuple[float, int, float]], *, cost_above_negative: float) -> float:
    """The probability cut-off with the least cost: a positive below it costs its weight, a
    negative at or above it `cost_above_negative` times its weight."""
    ordered = sorted(scored)
    positives_below = 0.0
    negatives_above = sum(weight for _, label, weight in ordered if not label)
    best_cost, best_cut = float("inf"), 1.0
    for index, (probability, label, weight) in enumerate(ordered):
        if index == 0 or probability != ordered[index - 1][0]:
            cost = positives_below + cost_above_negative * negatives_above
            if cost < best_cost:
                best_cost, best_cut = cost, probability
        if label:
            positives_below += weight
        else:
            negatives_above -= weight
    return best_cut


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))


def _solve(matrix: list[list[float]], vector: list[float]) -> list[float]:
    """Gaussian elimination with partial pivoting (the system is tiny and well conditioned)."""
    size = len(vector)
    a = [[*row, vector[i]] for i, row in enumerate(matrix)]
    for col in range(size):
        pivot = max(range(col, size), key=lambda r: abs(a[r][col]))
        a[col], a[pivot] = a[pivot], a[col]
        for r in range(col + 1, size):
            factor = a[r][col] / a[col][col]
            for c in range(col, size + 1):
                a[r][c] -= factor * a[col][c]
    out = [0.0] * size
    for r in range(size - 1, -1, -1):
        out[r] = (a[r][size] - sum(a[r][c] * out[c] for c in range(r + 1, size))) / a[r][r]
    return out


def main(argv: Sequence[str] | None = None) -> int:
    from bot.config import SHIPPED_KNOWLEDGE

    parser = argparse.ArgumentParser(
        prog="python -m bot.answering.decision_fit", description=__doc__
    )
    parser.add_argument("--knowledge", type=Path, default=SHIPPED_KNOWLEDGE)
    parser.add_argument("--out", type=Path, default=MODEL_FILE)
    args = parser.parse_args(argv)
    models = fit_models(load_knowledge(args.knowledge))
    args.out.write_text(
        json.dumps(models.to_json(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    for name, model in (("entries", models.entries), ("passages", models.passages)):
        print(
            f"{name}: fitted on {sum((model.training or {}).get('samples', {}).values())} "
            f"samples; answer at p >= {model.answer_at:.3f}, suggest at p >= "
            f"{model.suggest_at:.3f}",
            file=sys.stderr,
        )
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


# Ranking does not depend on the model; only the candidates' confidence does, which the
# samples do not use. This stands in while fitting, so a missing or stale file cannot matter.
_NEUTRAL = DecisionModel(
    mean=(0.0,) * len(FEATURES),
    scale=(1.0,) * len(FEATURES),
    weights=(0.0,) * len(FEATURES),
    bias=0.0,
    answer_at=1.0,
    suggest_at=1.0,
)


def fit_models(kb: KnowledgeBase) -> DecisionModels:
    """Both decision models for `kb` (deterministic)."""
    from bot.answering.passages import passage_knowledge

    matcher = Matcher(kb, model=_NEUTRAL)
    entries = fit(list(samples(matcher)))
    sentences_kb = passage_knowledge(kb)
    if sentences_kb is None:
        return DecisionModels(entries, replace(entries, answer_at=1.01, suggest_at=1.01))
    sentences = Matcher(sentences_kb, model=_NEUTRAL)
    return DecisionModels(entries, fit(list(passage_samples(matcher, sentences))))


if __name__ == "__main__":
    sys.exit(main())
