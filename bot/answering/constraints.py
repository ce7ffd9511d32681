"""What a question pins down and asks for, checked against what an entry states.

A question can share almost every word with an entry and still ask for something the report
does not give: another year (`2018年的受理数`), another district (`洪山区的出庭应诉率`), a kind
of answer the entry does not hold (an amount of money, a date, people's names, a phone number),
or a count the entry never states. Matching alone would answer those with a 2019 Jianghan
figure as if it were the answer. This module reads the question's *frame* (years, places, the
kind of answer asked for and the measure word of a count) and an entry's *statement* (the years,
numbers, measure words, dates and document titles its answer and passage hold), and says where
the two conflict, and how well an entry's kind of content fits the question (for ranking).
Pure: no Telegram, no database.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from functools import lru_cache
from itertools import chain, pairwise
from typing import NamedTuple

from bot.answering.text import WUHAN_DISTRICTS, fuzzy_pinyin, is_cjk, several


class Asked(StrEnum):
    """The kind of answer a question asks for, where it can be told from its wording."""

    COUNT = "count"  # 多少件, 几家, how many
    PERCENT = "percent"  # 比例, 占比, 受案率是多少
    DATE = "date"  # 什么时候, 哪天, 哪一年
    DOCUMENT = "document"  # 依据哪个文件, 哪份意见
    ORGANISATION = "organisation"  # 哪个部门, 哪几家单位
    PERSON = "person"  # 叫什么名字, 名单, 分别是谁
    REASON = "reason"  # 为什么, 什么原因
    LIST = "list"  # 具体包括哪些, 名单: the items themselves
    PROCEDURE = "procedure"  # 怎么查询, 如何申请: how a citizen gets something done
    MONEY = "money"  # 多少钱, 经费
    CONTACT = "contact"  # 电话, 地址, 网址
    RANK = "rank"  # 排名, 排第几: a place among others
    DURATION = "duration"  # 多久, 多长时间, 期限: a span of time or how often
    STANDARD = "standard"  # 达标线, 标准是多少, 要达到多少才算: a level required
    NEARBY = "nearby"  # 附近哪家酒店好, near the station: what is around a place
    MEANS = "means"  # 靠什么形式, 通过什么方式: the form or channel something is done through


class ConflictKind(StrEnum):
    YEAR = "year"
    PLACE = "place"
    ASKED = "asked"
    COUNTED = "counted"  # a count of something the entry does not speak of (败诉, 不合格)
    FIGURE = "figure"  # the question states a figure the entry does not (19家 of another fact)
    NAMED = "named"  # 哪些律师事务所 of an answer that names no firm
    DATED = "dated"  # the date of something the entry does not speak of (高考分数线)
    TERM = "term"  # 行政复议 of an answer about 行政诉讼 alone (a group of distinct terms)


@dataclass(frozen=True)
class Conflict:
    """Why an entry cannot answer the question as asked."""

    kind: ConflictKind
    detail: str  # the year, the place, or the Asked value the entry lacks


# The measure that counts anything (几个部门, 规范性文件发了几个: 1件), naming no thing of its own.
ANY_MEASURE = "个"
# 张 counts flat things of any kind: cards and certificates (多少张执法证 ~ 181人次).
LOOSE_MEASURES = frozenset({ANY_MEASURE, "张"})
# Measure words whose counts answer each other (多少个部门 ~ 62个部门; 几名 ~ 10名).
_MEASURE_GROUPS: tuple[frozenset[str], ...] = (
    frozenset("个家名人位"),
    # 几单 counts cases and applications, 几份 documents too (1件); 几份/几本 count case
    # files (165卷), which are not cases.
    frozenset("件单份"),
    frozenset("卷份本"),
    frozenset({"人次", "次"}),
)
_MEASURES = "人次|[件名个家卷项次人位条份类种单岁天年元本张]"
# "电话是多少" asks what the number is, not how many: a bare 是多少 asks for no count.
_ASKED_COUNT_RE = re.compile(
    rf"(?<!哪)(?:多少|几)(?P<measure>{_MEASURES})|(?<![是为])多少|(?<!哪)几(?!乎)|数量|总数|"
    r"how many|number of|count"
)
_ASKED_PERCENT_RE = re.compile(
    r"(?:比例|占比|比重|百分比|率)(?:是|为|有|能|达到?|大概|大约|一共|到底)?(?:多少|几|多高|多大)|"
    r"(?:多大|多高)的?(?:比例|占比|比重)|占多大|占多少|"
    r"百分之(?:多少|几)|(?:多少|几)%|(?:多少|几)成(?![员果绩本])|"
    r"(?:what|how much|how high).{0,30}(?:rate|percentage|proportion|share)|"
    r"(?:rate|percentage|proportion|share).{0,12}(?:what|how)"
)
# Numerals are digits by now: 哪一天 reads 哪1天.
_ASKED_DATE_RE = re.compile(
    # An English "when" asks a date when a question's verb follows it (when was it issued),
    # not when it opens a clause (how many were reviewed when the certificates were renewed).
    r"什么时候|什么时间|哪[一1几]?天|哪些天|哪些日子|何时|几月|几号|哪[个几]个?月|日期|what date|"
    r"^when\b|\bwhen (?:did|was|were|is|are|will|does|do|has|have|had|would)\b|"
    r"(?P<year>哪[一1]?年|什么年份|which year)"
)
# 用什么办法 and 有什么办法 ask how something is done (any measure answers), not for a document
# called 办法.
_BY_WAY_OF = r"(?<!用)(?<!靠)(?<!想)(?<!有)(?<!采取)(?<!通过)"
_ASKED_DOCUMENT_RE = re.compile(
    r"(?:哪|什么|啥)(?:个|份|部|项|一个|一份)?(?:文件|规定|意见|法规|制度文件|政策文件)|"
    # 学了哪些法律: laws, which an answer names (《…法》); not the law's help or questions.
    r"(?:哪|什么|啥)(?:些|几部|部)?(?:法律法规|法律|法规)(?!顾问|服务|问题|意识|知识|素养|思维|援助|"
    r"咨询|事务|风险|水平|责任|关系|效果|人员|专家|团队|理由|程序)|"
    rf"{_BY_WAY_OF}(?:哪|什么|啥)(?:个|份|部|项|一个|一份)?办法|"
    # 按照哪些会议精神 asks for meetings' guidance, which no 《title》 gives.
    r"(?:依据|根据|按照|对照|照着?)(?:的是)?(?:哪|什么|啥)(?!\S{0,3}(?:会议|精神|要求|原则|部署))|"
    r"(?:文件|规定|办法|意见|报告)的?(?:标题|名称|名字|全称)|(?:文件|规定|办法|意见)叫什么|"
    r"which (?:document|regulation|rule)"
)
# 是哪些人负责初审 asks who does something, which a body answers (区司法局会同法律顾问团队);
# 团队里有哪些人 asks for the people themselves.
_AGENT_VERBS = r"负责|参与|参加|组织|承担|担任|主持|牵头|代理|审核|审查|初审|评查|出庭|来|去"
_NOT_AN_AGENT = rf"(?!{_AGENT_VERBS})"
# Not after 要是/如果 (要是哪个部门一把手不出庭: "whichever department", asking no name).
_ASKED_ORGANISATION_RE = re.compile(
    r"(?<!要是)(?<!如果)(?<!假如)(?<!万一)"
    r"(?:(?:哪|什么)(?:个|几个|些|几|一个)?(?:部门|单位|机关|机构|街道)|哪(?:几)?家)|"
    rf"(?:哪些|哪几个|什么)人(?={_AGENT_VERBS})|"
    r"which (?:department|unit)"
)
# 多久 asks how long or how often (以案释法多久搞一次: every quarter); a time limit too.
_ASKED_DURATION_RE = re.compile(
    r"多久|多长时间|多长的?(?:期限|时限|时间)|期限(?:是|有|为)?多长|时限(?:是|有|为)?多长|"
    r"how long|how often"
)
# A span or a frequency the answer gives: 每季度一次, 每年至少两次, 定期, 3个月, 15个工作日.
_DURATION_RE = re.compile(
    r"每[年季月周天日个]|定期|常态化|(?<![\d.])\d{1,3}个?(?:天|日|周|星期|月|年|小时|工作日)(?!\d)|"
    r"\d+次|[一两二三四五六七八九十]次"
)
_ASKED_RANK_RE = re.compile(r"排名|排第几|排在第几|第几名|排行|名次|\brank(?:ed|ing)?\b")
# A level something must reach: 达标线, 考核标准是多少, 要达到多少才算合格, 最低要求.
_ASKED_STANDARD_RE = re.compile(
    r"达标线|达标标准|合格线|及格线|(?:考核|达标|合格)?标准是(?:多少|什么|几)|"
    r"要(?:求)?达到多少|达到多少才|才算(?:达标|合格|及格)|最低要求|底线是多少|"
    r"\b(?:threshold|target|benchmark|minimum)\b"
)
# A required level the answer states: 每年至少两次, 不低于90%.
_STANDARD_RE = re.compile(r"至少|不低于|不少于|不得低于|不得少于|最低|\d+(?:\.\d+)?%以上")
# A rank the answer gives: 排名第一, 第3名, 名列前茅.
_RANK_RE = re.compile(r"排名|第[一二三四五六七八九十\d]+名|名列|前茅|位居")
_ASKED_PERSON_RE = re.compile(
    r"(?<!文件)(?<!规定)(?<!办法)(?<!意见)(?<!报告)"
    # The name of a firm, unit, department or document (四家律师事务所叫什么名字, 那份文件叫什么
    # 名字) is no person's.
    r"(?<![所位门构件])(?<![所位门构件]的)(?<![所位门构件]叫什么)(?<![所位门构件]都叫什么)"
    r"(?:名字|姓名)|分别是谁|都是谁|是哪几位|"
    # A 名单 of firms, units or departments lists bodies, not people.
    r"(?<![所位门构])(?<![所位门构] )名单|"
    # 是哪些人的意识 asks whose (a group: 行政机关负责人), not for names.
    rf"(?:是哪些人|有哪些人|哪几个人){_NOT_AN_AGENT}(?!的)|哪些专家(?!座谈|咨询|论证)|"
    r"哪些律师(?!事务所|所|团队|行)|"
    r"(?:局长|区长|书记|主任)是谁|who are|names?\b"
)
# The items themselves, not whether there is a list (有没有列个清单 is a yes-or-no question).
_KINDS = r"(?:哪些|哪几|哪几种|什么)(?:类型|种类|类别)|哪几类|哪几种"
_ASKED_KINDS_RE = re.compile(_KINDS)
_ASKED_LIST_RE = re.compile(
    # 具体是哪几天 asks for dates, not a list
    r"具体\S{0,3}?(?:哪些|哪几|什么)(?![天日月年号])|包括哪些|有哪些|分别是|列了哪些|列出哪些|"
    + _KINDS
)
# Which kind or part of a figure the question names itself (33件…哪类最多).
_ASKED_PART_RE = re.compile(r"哪[类种项个](?:最多|最少|居多|占多数)|什么类型|哪些类型|哪几类|哪类")
# "为什么说…" asks for the basis of a statement, which the statement itself gives; 作为什么
# (serves as what) and 成为什么 ask what, not why.
# 为什么…能达到这么高 asks how a result was reached: the measures that reached it answer it.
_ASKED_REASON_RE = re.compile(
    r"(?<![作成认以称视])(?:为什么|为何|为啥)(?!说)(?![^，,？?。]*能(?:达到|做到|保持|实现|取得))|"
    r"什么原因|啥原因|原因是|原因有|\bwhy\b"
)
_ASKED_PROCEDURE_RE = re.compile(
    r"(?:怎么|如何|怎样|去哪|在哪|哪里|到哪)(?:才能|可以|能|去|里)?"
    r"(?:查询|查到|办理|申请|投诉|举报|预约|缴费|领取|提交|咨询|报名|补办|补领|换领|报考|考试|考证|考取)|"
    r"(?:怎么|如何|怎样)考(?![虑核察评查])|"
    # Checking one's own affairs (我怎么查自己的执法证): not how the district checked something.
    r"我\S{0,2}?(?:怎么|如何|怎样|去哪|在哪|哪里|到哪)(?:才能|可以|能|去)?查|"
    r"(?:怎么|如何|怎样)(?:才能|可以|能)?查(?:自己|我)|"
    r"我(?:还|也)?(?:能不能|能|可以|可不可以|该|应该|要不要|需要)|"
    r"(?:需要|要)(?:准备|带|交)?(?:什么|哪些)材料|(?:需要|要|得)准备(?:什么|哪些|啥)|how (?:do|can) i|"
    r"how to (?:apply|get|obtain|register|check|pay|renew|find|contact)"
)
_ASKED_MONEY_RE = re.compile(
    r"多少钱|经费|资金|费用|预算|金额|总额|花了多少|花多少|投入了?多少|律师费|报酬|拨款|"
    r"[付支]付?了?多少|服务费|顾问费|咨询费|代理费|薪酬|酬劳|工资|补贴|"
    r"罚款(?:总额|数额|收入|是?多少|有多少)|罚没|罚了多少|罚多少|多少罚款|"
    r"how much money|budget|cost|funding|fee"
)
_ASKED_CONTACT_RE = re.compile(
    r"电话|地址|网址|邮箱|联系方式|怎么联系|如何联系|官网|链接|哪个网站|什么网站|哪个app|"
    r"什么app|哪个小程序|哪个公众号|phone|address|website|email"
)
# The form or channel something is done through (以后靠什么形式督促指导: 借助联席会…等形式);
# not 办法 or 措施, which any account of what was done answers.
_ASKED_MEANS_RE = re.compile(
    r"(?:什么|啥|哪些|哪种|哪几种)(?:形式|方式|渠道|途径|载体)|by what means|in what way"
)
_MEANS_RE = re.compile(r"通过|借助|形式|方式|结合|利用|依托|采取|采用|运用|渠道|途径|平台")
# What is around a landmark (铁路沿线附近哪家酒店最好, a hotel near the station): a work report
# names a place only as where work was done, never what is near it.
_ASKED_NEARBY_RE = re.compile(
    r"(?:附近|周边|周围|旁边)(?:的|有)?(?:哪|什么|啥|有没有|最|好吃|好玩|推荐)|"
    r"(?:推荐|找|介绍)\S{0,6}(?:附近|周边)|\bnear(?:by)?\b"
)
_YEAR_RE = re.compile(r"(?<!\d)(19[89]\d|20[0-4]\d)(?:年|(?!\d))")
_NUMBER_RE = re.compile(rf"(?<![\d.])\d+(?:\.\d+)?(?:余|多)?(?P<measure>%|{_MEASURES})?")
# A named body: 区司法局, 得伟君尚…律师事务所, 江汉区政府, or "各部门、各街道" as a whole;
# not 法治政府 (government under the rule of law, the report's subject, not a body).
_ORGANISATION_RE = re.compile(
    r"[\u4e00-\u9fff]{1,10}(?:(?<!法治)政府|局|办|委员会|事务所|法院|检察院|中心|团队)|"
    r"各[\u4e00-\u9fff]{0,6}?(?:部门|街道|单位)"
)
_ADMITTED_GAP_RE = re.compile(
    r"报告(?:未|没有|并未|没)(?:列出|说明|提及|提到|写明|给出|作进一步解释)"
)
# Causal or purposive wording: 因民事诉讼中止审理, 为了确保, 旨在, 以提高..., and a clause after
# the measure saying what it raises or furthers (…开展以案释法讲座，提高…依法履职水平).
_REASON_RE = re.compile(
    r"因|由于|为了|原因|目的|旨在|以便|从而|确保|是为|用于|以提高|以防"
    r"|[，,](?:提高|提升|增强|促进|推动|保障)"
)
_DATE_RE = re.compile(r"\d{4}年\d{1,2}月|\d{1,2}月\d{1,2}日|\d{4}-\d{1,2}-\d{1,2}|\d{1,2}:\d{2}")
# Places a question may name instead of the report's own: Wuhan's districts (WUHAN_DISTRICTS),
# and any other 区/市/省/县 name the segmenter tags as a place.
_PLACE_SUFFIXES = ("区", "市", "省", "县", "州", "镇")
# A scope wider than the district's own (全区): the whole city, province or country.
_WIDER_SCOPE_RE = re.compile(r"全市|全省|全国|全武汉|整个武汉")


@lru_cache(maxsize=4096)
def _syllables(text: str) -> str:
    """`text` as folded syllables, one per character, with "|" around each: the report's text
    once, and each entry's answer that a rate is looked for in."""
    return "|" + "|".join(fuzzy_pinyin(ch) for ch in text) + "|"


def _sounds_within(word: str, text: str) -> bool:
    """Whether `word`, or a word that sounds the same (typed by pinyin input), is in `text`."""
    return word in text or _syllables(word) in _syllables(text)


def _sounds_like_home(place: str, home: str) -> bool:
    """Whether a place name is one of the report's own, mistyped by pinyin input: 江汗区 for
    江汉区 is the same district, not another."""
    return _sounds_within(place, home)


def _joined_onto_report(said: str, start: int, size: int, home: str) -> bool:
    """Whether a place name the segmenter found is a character joined onto the report's own
    words: 机构改革中原区法治办 reads 中原区 (a district of Zhengzhou) where the report says
    改革中 + 原区法治办 (the former district office). It is when the name without its first
    character, and the character after it, is a run of the report's text (原区法)."""
    run = said[start + 1 : start + size + 1]
    return len(run) == size and run in home


@dataclass(frozen=True)
class QuestionFrame:
    """What a question pins down (years, places) and what kind of answer it asks for."""

    asked: frozenset[Asked]
    measures: frozenset[str]
    years: frozenset[int]
    places: tuple[str, ...]
    # The words next to 多少/几 (normalised): what is being counted.
    counted: tuple[str, ...] = ()
    # The word right after 多少/几 and its measure (几个部门): the answer must count it.
    counted_after: tuple[str, ...] = ()
    # The date asked for is only a year (哪一年): a year in the answer will do.
    year_only: bool = False
    # Figures the question states itself (165卷案卷里…): asking 多少卷 of them asks a breakdown.
    given: tuple[tuple[str, str], ...] = ()
    # The question asks which kind or part (哪类最多, 什么类型).
    asks_part: bool = False
    # The rates a percentage question names (败诉率): the answer must state that rate.
    rates: tuple[str, ...] = ()
    # The verb before a count of things (撤销了多少件): an answer that speaks of that action
    # must count it.
    acted: tuple[str, ...] = ()
    # The figures of `given` the question states roughly (一千多人, 300余人次).
    approximate: tuple[str, ...] = ()
    # The kind of thing a 哪些/哪家 asks to have named (哪些律师事务所): the answer names it.
    named: tuple[str, ...] = ()
    # Each term of a group of distinct terms the question names (行政复议), with the group's
    # other terms (行政诉讼): an answer naming only those speaks of something else.
    distinct: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # Whether the list asked for is of kinds (哪些种类, 哪几类): an answer gives them only by
    # naming several (行政许可、处罚、强制).
    kinds: bool = False
    # The term whose title is asked (规范性文件标题叫什么): the entry must speak of it; the
    # report's own title is not the title of the document it made.
    titled: tuple[str, ...] = ()
    # What a date is asked of (高考分数线什么时候公布): the entry must speak of it; the report's
    # own issue date is not the date of anything else.
    dated: tuple[str, ...] = ()


@dataclass(frozen=True)
class Statement:
    """What an entry states: the raw material a question's frame is checked against."""

    years: frozenset[int]
    explicit_years: frozenset[int]
    measures: frozenset[str]
    has_number: bool
    has_percent: bool
    has_date: bool
    has_document: bool
    has_organisation: bool
    has_money: bool
    has_reason: bool
    # The answer itself says what the report leaves out ("报告未列出部门名单").
    admits_gap: bool
    text: str
    # The characters of the entry's section, and their folded pinyin: what it speaks of (a
    # count of 败诉 or 不合格 asks about something else).
    vocabulary: frozenset[str] = frozenset()
    sounds: frozenset[str] = frozenset()
    # Whether the answer can give the items of a list at all (see `drafted`).
    lists: bool = True
    # What the section's answers and passages say, normalised: the report's own words there.
    section_says: str = ""
    # Each two characters in a row of the section's texts, in folded pinyin (`vocabulary_of`).
    pairs: frozenset[str] = frozenset()


def read_question(
    cleaned: str,
    normalised: str = "",
    tagged: Iterable[tuple[str, str]] = (),
    home: str = "",
    normalised_words: Sequence[tuple[str, str]] = (),
) -> QuestionFrame:
    """The frame of a question.

    Args:
        cleaned: the question folded (width, script, numerals) but with its own words, since
            synonyms merge 几件 and 多少 and so lose the measure word.
        normalised: the fully normalised question, where 去年 and 前年 have become years.
        tagged: the cleaned question's words with part-of-speech tags (ns: a place name).
        home: text of the report itself; a place it names is not "another place".
        normalised_words: the normalised question cut into words with part-of-speech tags,
            to find what is counted.
    """
    norm, asked, measures, year_only = _asked(cleaned)
    years = frozenset(int(y) for y in _YEAR_RE.findall(f"{cleaned} {normalised}"))
    places = [d for d in WUHAN_DISTRICTS if d in norm] + _WIDER_SCOPE_RE.findall(norm)
    said = "".join(word for word, _ in tagged)
    start = 0
    for word, tag in tagged:
        if (
            tag == "ns"
            and len(word) >= 3
            and word.endswith(_PLACE_SUFFIXES)
            and not _joined_onto_report(said, start, len(word), home)
        ):
            places.append(word)
        start += len(word)
    foreign = tuple(
        p for p in dict.fromkeys(places) if p not in home and not _sounds_like_home(p, home)
    )
    # What a 多少 asks about (败诉了几件, 平均年龄是多少) must be something the entry speaks of,
    # whether it asks for a count or for a value.
    counted, after, direct, acted = _counted_words(normalised_words, written=norm)
    figures = list(_figures(norm))
    given = tuple((value, measure) for value, measure, _ in figures)
    if not measures & _NOUN_MEASURES:
        # 几次 counts actions, and a bare 多少 may ask anything (多少钱, 多少年): no counted noun,
        # unless a question asking for a count has a noun right after its 多少 (多少执法案卷;
        # not 几个部门之间扯皮怎么协调, where 几个 means "several").
        after = direct if Asked.COUNT in asked else []
    return QuestionFrame(
        frozenset(asked),
        frozenset(measures),
        years,
        foreign,
        tuple(counted),
        tuple(after),
        year_only,
        given,
        bool(_ASKED_PART_RE.search(norm)),
        _rates(normalised_words) if Asked.PERCENT in asked else (),
        tuple(acted) if Asked.COUNT in asked else (),
        tuple(value for value, _, rough in figures if rough),
        _named_kinds(normalised_words),
        titled=_titled(normalised_words),
        kinds=bool(_ASKED_KINDS_RE.search(norm)),
        dated=_dated(normalised_words) if Asked.DATE in asked else (),
    )


def asking(cleaned: str) -> QuestionFrame:
    """The frame of a question as far as `fit` reads it: the kinds of answer it asks for, their
    measure words, and whether only a year will do. The years, places and counted words that
    `conflicts` checks are left empty: finding them (the segmenter's tagging) is most of
    `read_question`'s cost, and ranking alone does not need them.

    Args:
        cleaned: as for `read_question`.
    """
    _, asked, measures, year_only = _asked(cleaned)
    return QuestionFrame(
        frozenset(asked), frozenset(measures), frozenset(), (), year_only=year_only
    )


def _measure_as_meant(measure: str, following: str) -> str:
    """The measure word of a count, a 人次 typed by its sound (多少人此, 几人刺) included."""
    if measure == "人" and following and fuzzy_pinyin(following) == fuzzy_pinyin("次"):
        return "人次"
    return measure


# 多少人…去申请复议: each person who applies or sues is one application or lawsuit (件).
_FILERS_RE = re.compile(r"(?:多少|几)(?:个)?人\S*?(?:申请|起诉|(?<!报)告|投诉|举报)")


def _asked(cleaned: str) -> tuple[str, set[Asked], set[str], bool]:
    """What `read_question` reads first: the question with 几个 as "several" set aside, the
    kinds of answer it asks for, their measure words, and whether it asks only for a year."""
    # 几个/好几 opening a clause, or 几 as the object of 把/将/对/被, means "several"
    # (几个部门之间互相推诿, 把几次申请一并回复), not "how many".
    norm = re.sub(r"(?:^|(?<=\s))几(?=个)|(?<=[把将对被])几(?=[个次件项份条])", "若干", cleaned)
    norm = several(norm)
    asked: set[Asked] = set()
    measures: set[str] = set()
    for match in _ASKED_COUNT_RE.finditer(norm):
        asked.add(Asked.COUNT)
        if match.group("measure"):
            measures.add(
                _measure_as_meant(match.group("measure"), norm[match.end() : match.end() + 1])
            )
    if "人" in measures and _FILERS_RE.search(norm):
        measures.add("件")
    date = _ASKED_DATE_RE.search(norm)
    year_only = bool(date and date.group("year")) and len(_ASKED_DATE_RE.findall(norm)) == 1
    for kind, pattern in (
        (Asked.PERCENT, _ASKED_PERCENT_RE),
        (Asked.DATE, _ASKED_DATE_RE),
        (Asked.DOCUMENT, _ASKED_DOCUMENT_RE),
        (Asked.ORGANISATION, _ASKED_ORGANISATION_RE),
        (Asked.PERSON, _ASKED_PERSON_RE),
        (Asked.REASON, _ASKED_REASON_RE),
        (Asked.LIST, _ASKED_LIST_RE),
        (Asked.PROCEDURE, _ASKED_PROCEDURE_RE),
        (Asked.MONEY, _ASKED_MONEY_RE),
        (Asked.CONTACT, _ASKED_CONTACT_RE),
        (Asked.RANK, _ASKED_RANK_RE),
        (Asked.DURATION, _ASKED_DURATION_RE),
        (Asked.STANDARD, _ASKED_STANDARD_RE),
        (Asked.NEARBY, _ASKED_NEARBY_RE),
        (Asked.MEANS, _ASKED_MEANS_RE),
    ):
        if pattern.search(norm):
            asked.add(kind)
    if Asked.PERCENT in asked and not measures:
        asked.discard(Asked.COUNT)  # "受案率是多少" asks for a rate, not a count
    if Asked.MONEY in asked or Asked.RANK in asked or Asked.STANDARD in asked:
        # 排第几 asks for a place, 要达到多少才算达标 for a level, not a count or a rate
        asked.discard(Asked.COUNT)
    if Asked.STANDARD in asked:
        asked.discard(Asked.PERCENT)
    if Asked.ORGANISATION in asked and all(
        _YES_OR_NO_RE.search(norm, 0, match.start())
        for match in _ASKED_ORGANISATION_RE.finditer(norm)
    ):
        asked.discard(Asked.ORGANISATION)
    return norm, asked, measures, year_only


# In a yes-or-no question, 哪些单位 means "any": 有没有纠正过哪些单位的错误做法 asks whether
# wrong acts were corrected, which an answer naming no unit answers.
_YES_OR_NO_RE = re.compile(r"有没有|是否|有无")


def _figure_value(match: re.Match[str]) -> str:
    """A `_NUMBER_RE` match's number alone: 1300余名 -> "1300", 92.3% -> "92.3"."""
    return match.group(0).rstrip("余多%" + (match.group("measure") or ""))


def _figures(text: str) -> Iterator[tuple[str, str, bool]]:
    """The figures `text` states with a measure word, years left out: each number, its
    measure and whether it is given roughly (1000多人 -> ("1000", "人", True))."""
    for match in _NUMBER_RE.finditer(text):
        if not _is_year(match) and match.group("measure"):
            rough = _ROUGH_RE.search(match.group(0)) is not None
            yield _figure_value(match), match.group("measure"), rough


# A number given roughly: 一千多, 300余.
_ROUGH_RE = re.compile(r"\d[余多]")


def _given_numbers(text: str) -> tuple[tuple[str, str], ...]:
    """The figures a question itself states, with their measure words (165卷 -> ("165", "卷"))."""
    return tuple((value, measure) for value, measure, _ in _figures(text))


_COUNT_WORDS = frozenset({"多少", "几", "几个", "多大"})
_COUNT_GLUE = frozenset(
    "了 有 是 的 共 一共 总共 共计 合计 只有 只 才 大概 大约 约 达 达到 到 为 都 还 过 被 又 "
    "中 中有 里 里有 里头 里头有 里面 里面有 之中 其中 其中有 当中 当中有 现在 目前 如今 当前 现 今年 去年 当年 全年 每年 一年 "
    "2019年 2018年 具体 分别 各 各有 大约有 一下 这些 那些 这个 那个 到底 究竟 真的 实际 "
    "实际上 一般 大概 总共".split()
)
# A generic noun counted (多少事情, 几个方面) names nothing to check: the search stops there.
_GENERIC_COUNTED = frozenset(
    "事情 东西 情况 方面 事项 内容 数字 数量 人 数 占比 比例 比率 比重 百分比 率 百分点".split()
)


def _rates(tagged: Sequence[tuple[str, str]]) -> tuple[str, ...]:
    """The named rates of a question, as the segmenter cut them (败诉率, or 败诉 + 率)."""
    words = [word for word, _ in tagged]
    found = []
    for index, word in enumerate(words):
        if word == "率" and index and _is_content(words[index - 1]):
            found.append(words[index - 1] + "率")
        elif len(word) >= 3 and word.endswith("率") and _is_content(word):
            found.append(word)
    return tuple(found)


def _counted_words(
    tagged: Sequence[tuple[str, str]], *, written: str = ""
) -> tuple[list[str], list[str], list[str], list[str]]:
    """The words right before and after each 多少/几 (glue and measure words skipped): in
    "败诉了几件" and "多少卷不合格" they say what is being counted. Also, apart, the words that
    follow a 多少/几 and its measure directly (几个部门): the counted thing itself; and of those,
    the ones right after the 多少/几 with no measure word between (多少执法案卷). Last, the
    verbs right before a count of things (撤销了多少件; or 撤销了几件 as `written`, the
    question before normalising merged 几件 into 多少)."""
    tagged = _measures_apart(tagged)
    words = [word for word, _ in tagged]
    found: list[str] = []
    after_measure: list[str] = []
    direct: list[str] = []
    acted: list[str] = []
    # Whether each 多少/几 as written counts things (几件), which normalising may have merged
    # away (几件 -> 多少); read in order when both have as many.
    as_written = list(_WRITTEN_COUNT_RE.finditer(written))
    if len(as_written) != sum(word in _COUNT_WORDS for word in words):
        as_written = []
    written_counts = [bool(m.group(1)) for m in as_written]
    # 学几回法律: a count of times (几回, 几次) is followed by what is done, not by what is
    # counted.
    written_times = [bool(m.group(2)) for m in as_written]
    ordinal = 0
    for index, word in enumerate(words):
        if word not in _COUNT_WORDS:
            continue
        before = index - 1
        while before >= 0 and words[before] in _COUNT_GLUE:
            before -= 1
        # Measure words, glue and position words (几位外部专家: 外部 says where they come from)
        # stand between a count and what it counts.
        after = index + 1
        while after < len(words) and (
            words[after] in _MEASURE_WORDS or words[after] in _COUNT_GLUE or tagged[after][1] == "f"
        ):
            after += 1
        # 信息公开类有多少件: the things of that kind are what is counted.
        if before >= 1 and words[before] in _OF_KIND and _is_content(words[before - 1]):
            after_measure.append(words[before - 1])
            before -= 1
        times = ordinal < len(written_times) and written_times[ordinal]
        for neighbour in (before, after) if not times else (before,):
            if (
                0 <= neighbour < len(words)
                and _is_content(words[neighbour])
                and words[neighbour] not in _GENERIC_COUNTED
            ):
                found.append(words[neighbour])
        # A verb right before a count of things (撤销了多少件, 胜诉了几件) says which of them
        # are counted; so does one right after it (有几件被撤销) or one that qualifies the
        # thing counted (撤销的错误行政行为有几件, its 的 gone with normalising).
        things = (index + 1 < len(words) and words[index + 1] in _NOUN_MEASURES) or (
            ordinal < len(written_counts) and written_counts[ordinal]
        )
        ordinal += 1
        glued = _glued_verb(tagged[before]) if before >= 0 else ""
        if glued and things:
            acted.append(glued)
        elif before >= 0 and _is_action(tagged[before]):
            if things or _counts_things_after(words[before], written):
                acted.append(words[before])
                # 被撤销或者纠错的有几件: each of two actions joined by 或者/和 is counted.
                if before >= 2 and words[before - 1] in _JOINING and _is_action(tagged[before - 2]):
                    acted.append(words[before - 2])
        elif things and before >= 0 and tagged[before][1] in ("n", ""):
            acted.extend(
                word
                for word, tag in tagged[max(0, before - 2) : before]
                if _is_action((word, tag), strict=True)
            )
        # After the count, only where the count is the subject of the action: 有几件 (被)撤销,
        # 几件最后撤销了; not 少了多少件 and then 下降, a clause of its own.
        following = index + 1
        while following < len(words) and words[following] in _MEASURE_WORDS:
            following += 1
        linked = index > 0 and words[index - 1] == "有"
        while following < len(words) and words[following] in _BEFORE_ACTION:
            following += 1
            linked = True
        if (
            things
            and linked
            and following < len(words)
            and _is_action(tagged[following], strict=True)
        ):
            acted.append(words[following])
        # Only a noun (or a term of the knowledge base, which the segmenter leaves untagged)
        # is the thing counted: in 几个人组成 the verb after the measure is not.
        if (
            not times
            and after < len(words)
            and _is_content(words[after])
            and tagged[after][1][:1] in ("n", "")
        ):
            after_measure.append(words[after])
            if after == index + 1 and words[after] not in _GENERIC_COUNTED:
                direct.append(words[after])
    return found, after_measure, direct, acted


def _named_kinds(tagged: Sequence[tuple[str, str]]) -> tuple[str, ...]:
    """The knowledge base's terms right after a 哪些/哪家 (measure words and adjectives skipped):
    跟哪些律师事务所合作 asks for the firms by name, which an answer about the team the firms'
    lawyers sit on does not give. Common nouns (哪个部门, 哪个文件) are answered by a name alone (区司法局,
    《…》), and words for "ways" or "matters" (哪些方面, 哪些短板) by the list itself."""
    words = [word for word, _ in tagged]
    found: list[str] = []
    for index, word in enumerate(words[:-1]):
        if word not in _WHICH_WORDS:
            continue
        # Measure words, and adjectives (哪些重大专项工作), stand before the kind asked for.
        after = index + 1
        while after < len(words) - 1 and (
            words[after] in _MEASURE_WORDS or tagged[after][1] == "a"
        ):
            after += 1
        noun, tag = tagged[after]
        if _is_content(noun) and tag == "" and noun not in _ANSWERED_UNNAMED:
            found.append(noun)
    return tuple(found)


def _titled(tagged: Sequence[tuple[str, str]]) -> tuple[str, ...]:
    """The knowledge base's terms whose title or name is asked: 规范性文件标题叫什么, 那份规范性
    文件叫什么名字 (名字 is 标题 by now)."""
    words = [word for word, _ in tagged]
    found: list[str] = []
    for index, (word, tag) in enumerate(tagged[:-1]):
        if tag != "" or not _is_content(word):
            continue
        rest = words[index + 1 : index + 4]
        if rest[:1] == ["标题"] or rest[:3] in (["叫", "什么", "标题"], ["是", "什么", "标题"]):
            found.append(word)
    return tuple(found)


def _dated(tagged: Sequence[tuple[str, str]]) -> tuple[str, ...]:
    """The words right before the first date question word (高考分数线什么时候发布: 分数线; 法律
    顾问团队是什么时候组建的: 法律顾问团队): what the date is asked of."""
    words = [word for word, _ in tagged]
    said = "".join(words)
    date = _ASKED_DATE_RE.search(said)
    if date is None:
        return ()
    start = 0
    before = -1
    for index, word in enumerate(words):
        if start + len(word) > date.start():
            break
        before = index
        start += len(word)
    while before >= 0 and words[before] in _COUNT_GLUE:  # 是, 的, 大概: as before a count
        before -= 1
    if before < 0 or not _is_content(words[before]) or tagged[before][1] in _NOT_DATED_TAGS:
        return ()
    return (words[before],)


# Tags of words that say when or where, not what (数词, 量词, 代词, 时间词, 地名, 方位词).
_NOT_DATED_TAGS = frozenset({"m", "mq", "q", "r", "t", "ns", "f"})
_JOINING = frozenset({"或者", "或", "和", "及", "与", "以及", "或是"})
_WHICH_WORDS = frozenset({"哪些", "哪几", "哪几个", "哪几家", "哪家", "哪个", "哪些个"})
# What a 哪些 asks about that an answer lists without naming the word again.
_ANSWERED_UNNAMED = frozenset(
    "方面 措施 举措 工作 内容 问题 情况 东西 事情 事儿 地方 做法 办法 手段 途径 渠道 环节 "
    "方式 形式 领域 类型 种类 类别 时候 时间 时间段 原因 成绩 成效 亮点 变化 特点 经验 要求 "
    "任务 目标 重点 难点 短板 不足 打算 计划 安排 存在问题 下步工作打算".split()
)


def _measures_apart(tagged: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """The words with a measure word the segmenter glued onto what follows a 多少/几 cut off:
    多少张旧的 comes as 张旧 (taken for a name, 张 being a surname), 多少份文件 as 份文件. A
    two-character word that is no name (家庭, 个人) stays whole."""
    apart: list[tuple[str, str]] = []
    for word, tag in tagged:
        if (
            apart
            and apart[-1][0] in _COUNT_WORDS
            and len(word) >= 2
            and word[0] in _NOUN_MEASURES
            and (tag == "nr" or len(word) >= 3)
        ):
            # The rest's own tag is unknown; untagged, it is read as a term would be.
            apart += [(word[0], "q"), (word[1:], "" if tag == "nr" else tag)]
        else:
            apart.append((word, tag))
    return apart


_MEASURE_WORDS = frozenset({*"件名个家卷项次人位条份类种单岁天年元本张", "人次"})
# "Of the kind" after the kind a count asks about (征收类有几件), as the segmenter cuts it.
_OF_KIND = frozenset({"类", "类有", "类的", "类型", "类型的"})
# Measure words that count things (几个部门, 多少名执法人员), not times or amounts.
_NOUN_MEASURES = frozenset("个家名位件卷项条份类种单本张")


# What may come between a count of things and the action that picks them out: 有几件被撤销,
# 几件最后撤销了.
_BEFORE_ACTION = frozenset("被 最后 最终 后来 都 已 已经 是 给 予以".split())
_NOUN_MEASURE_CLASS = "[" + "".join(sorted(_NOUN_MEASURES)) + "]"
_WRITTEN_COUNT_RE = re.compile(f"(?:几|多少)(?:({_NOUN_MEASURE_CLASS})|(回|次|遍|趟))?")


def _is_action(word: tuple[str, str], *, strict: bool = False) -> bool:
    """Whether a tagged word is a verb that may pick out some of the things counted; with
    `strict`, a plain verb only (not 工作, a verbal noun, beside what it names)."""
    text, tag = word
    verb = tag == "v" if strict else tag[:1] == "v"
    return verb and _is_content(text) and text not in _GENERIC_COUNTED


def _counts_things_after(verb: str, written: str) -> bool:
    """Whether `written` counts things right after `verb`: 撤销了几件, 维持了多少个."""
    return bool(re.search(f"{re.escape(verb)}了?(?:几|多少){_NOUN_MEASURE_CLASS}", written))


def _glued_verb(word: tuple[str, str]) -> str:
    """A one-character verb the segmenter glued to its 了 (审了, 换了): the verb, else ""."""
    text, _ = word
    if len(text) == 2 and text[1] == "了" and is_cjk(text[0]) and text[0] not in _NOT_VERBS:
        return text[0]
    return ""


# Characters before a 了 that are no action picking out what is counted (有了, 少了, 到了).
_NOT_VERBS = frozenset("有是到为多少被给共达成变算过")


def _is_content(word: str) -> bool:
    # A word the segmenter cut around a question word (占多大) asks; it names nothing.
    return (
        len(word) >= 2
        and all("\u4e00" <= ch <= "\u9fff" for ch in word)
        and not _ASKING_INSIDE_RE.search(word)
    )


_ASKING_INSIDE_RE = re.compile(r"多大|多少|多高|多久|几")


def state(texts: Iterable[str], default_years: frozenset[int] = frozenset()) -> Statement:
    """The statement of an entry, from its answer with numerals folded to digits (punctuation
    kept: a 《title》 is how a named document is recognised). An answer that names no year
    speaks of the report's own year(s), `default_years`. What it speaks of is added per section
    with `speaking_of`."""
    text = " ".join(texts)
    numbers = [m for m in _NUMBER_RE.finditer(text) if not _is_year(m)]
    explicit = frozenset(int(y) for y in _YEAR_RE.findall(text))
    return Statement(
        years=explicit or default_years,
        explicit_years=explicit,
        measures=frozenset(m.group("measure") for m in numbers if m.group("measure")),
        has_number=bool(numbers),
        has_percent="%" in text,
        has_date=bool(_DATE_RE.search(text)),
        has_document="《" in text,
        has_organisation=bool(_ORGANISATION_RE.search(text)),
        has_money=bool(re.search(r"\d+(?:\.\d+)?万?元", text)),
        has_reason=bool(_REASON_RE.search(text)),
        admits_gap=bool(_ADMITTED_GAP_RE.search(text)),
        text=text,
    )


# Items written one after another: 得伟君尚、诚明、华平; clauses of a list ended by semicolons.
_ENUMERATION_RE = re.compile(r"、|；|;")


def drafted(statement: Statement) -> Statement:
    """The statement of a draft entry (`kbbot kb draft`), read from the fact it was drafted
    for. A draft quotes the report and cannot say what the report leaves out ("报告未列出…"),
    so it is taken to give the items of a list only where its fact lists some."""
    return replace(statement, lists=bool(_ENUMERATION_RE.search(statement.text)))


class Vocabulary(NamedTuple):
    """What a section speaks of: the characters of all its normalised texts, phrasings
    included, their folded pinyin, and what its answers and passages say."""

    chars: frozenset[str]
    sounds: frozenset[str]
    says: str
    # Each two characters in a row of the section's texts, in folded pinyin.
    pairs: frozenset[str] = frozenset()


def vocabulary_of(texts: Iterable[str], says: Iterable[str] = ()) -> Vocabulary:
    """The vocabulary of a section from its normalised texts and, apart, those of its answers
    and passages (`says`)."""
    texts = list(texts)
    chars = frozenset(ch for ch in set("".join(texts)) if not ch.isspace())
    return Vocabulary(
        chars,
        frozenset(fuzzy_pinyin(ch) for ch in chars),
        " ".join(says),
        frozenset(chain.from_iterable(map(_sound_pairs, texts))),
    )


def _sound_pairs(text: str) -> list[str]:
    sounds = [fuzzy_pinyin(ch) for ch in text]
    return [f"{a} {b}" for a, b in pairwise(sounds)]


def speaking_of(statement: Statement, vocabulary: Vocabulary) -> Statement:
    """`statement` with its section's vocabulary (see `vocabulary_of`)."""
    return replace(
        statement,
        vocabulary=vocabulary.chars,
        sounds=vocabulary.sounds,
        section_says=vocabulary.says,
        pairs=vocabulary.pairs,
    )


def _is_year(match: re.Match[str]) -> bool:
    return match.group("measure") == "年" and bool(_YEAR_RE.match(match.group(0)))


def report_years(title: str) -> frozenset[int]:
    """The year(s) a report is about, from its title (江汉区2019年法治政府建设工作报告)."""
    return years_in(title)


def years_in(text: str) -> frozenset[int]:
    """Every year `text` names (2019年, or 2019 standing alone), as a question's frame reads
    them."""
    return frozenset(int(y) for y in _YEAR_RE.findall(text))


def other_terms(frame: QuestionFrame, statement: Statement) -> list[str]:
    """The terms of distinct groups the question names that the entry's answer leaves for
    another term of their group (行政复议, of an answer about 行政诉讼 alone)."""
    return [
        term
        for term, others in frame.distinct
        if term not in statement.text and any(other in statement.text for other in others)
    ]


def conflicts(
    frame: QuestionFrame, statement: Statement, report_years: frozenset[int] = frozenset()
) -> list[Conflict]:
    """Everything the question pins down or asks for that the entry does not state.

    The report's own year never conflicts: every entry speaks of it, even one whose answer
    names another year (发文日期 2020-01-25)."""
    found: list[Conflict] = []
    for year in sorted(frame.years - report_years):
        if statement.years and year not in statement.years:
            found.append(Conflict(ConflictKind.YEAR, str(year)))
    for place in frame.places:
        if place not in statement.text:
            found.append(Conflict(ConflictKind.PLACE, place))
    for kind in sorted(frame.asked):
        if not _holds(kind, frame, statement):
            found.append(Conflict(ConflictKind.ASKED, kind.value))
    found.extend(
        Conflict(ConflictKind.COUNTED, word)
        for word in frame.counted
        if not _spoken_of(word, statement)
    )
    found.extend(
        Conflict(ConflictKind.COUNTED, word)
        for word in frame.counted_after
        if not _counts_thing(statement.text, word) and _spoken_of(word, statement)
    )
    found.extend(
        Conflict(ConflictKind.COUNTED, rate) for rate in frame.rates if not _states(rate, statement)
    )
    found.extend(
        Conflict(ConflictKind.NAMED, kind)
        for kind in frame.named
        if not _sounds_within(kind, statement.text)
    )
    found.extend(
        Conflict(ConflictKind.NAMED, term)
        for term in frame.titled
        if not _spoken_of(term, statement)
    )
    # Without its section's texts (`speaking_of`) an entry cannot be judged on this.
    found.extend(
        Conflict(ConflictKind.DATED, word)
        for word in frame.dated
        if statement.pairs and statement.pairs.isdisjoint(_sound_pairs(word))
    )
    found.extend(Conflict(ConflictKind.TERM, term) for term in other_terms(frame, statement))
    # 撤销了多少件 of an answer that tells of 撤销 but counts other things (申请29件). An
    # answer that does not name the action at all (共有, 变成 are only the question's way of
    # asking) is judged by what it counts.
    found.extend(
        Conflict(ConflictKind.COUNTED, word)
        for word in frame.acted
        if (
            not (_counts(statement.text, word) or _all_of(frame, (word,), statement.text))
            if word in statement.text
            # The section tells of the action elsewhere (撤销 of wrong acts): an answer that
            # does not is counting other things.
            else word in statement.section_says
        )
    )
    if frame.given and _asks_breakdown(frame, statement):
        found.append(Conflict(ConflictKind.ASKED, "breakdown"))
    figures = _given_numbers(statement.text)
    stated = {value for value, _ in figures}
    found.extend(
        Conflict(ConflictKind.FIGURE, f"{value}{measure}")
        for value, measure in frame.given
        if value not in stated
        and _is_figure(value, measure)
        and not (value in frame.approximate and _near_above(value, measure, figures))
    )
    return found


def _near_above(value: str, measure: str, figures: Sequence[tuple[str, str]]) -> bool:
    """Whether a figure in `figures` is what "`value`多" (一千多人) may mean: at least `value`,
    under twice it, in a measure that counts the same things (1300余名)."""
    low = float(value)
    return any(
        low <= float(number) < 2 * low and _same_measure(measure, stated)
        for number, stated in figures
    )


def _is_figure(value: str, measure: str) -> bool:
    """Whether a number in a question states a figure of the report: not 一 read as a
    numeral (一年, 一次, 哪一个), not a year or a span of years (19年, 前一年)."""
    return measure not in ("年", "岁") and value != "1"


def _lists_before(text: str, value: str) -> bool:
    """Whether `text` names the things it counts as `value` right before the figure:
    得伟君尚、诚明、华平、成和诚四家 (numerals are digits here: 4家)."""
    for match in re.finditer(re.escape(value), text):
        head = text[max(0, match.start() - 40) : match.start()]
        if re.search(r"、[^，,。；;、]{1,12}[和及与]?[^，,。；;、]{0,12}$", head):
            return True
    return False


# What a change from another year is written after: 减少89件, 增加了3件, 多出5件.
_CHANGE_BEFORE_RE = re.compile(r"(?:减少|增加|下降|上升|增长|降低|提高|多出|少了|多了)了?$")


def _asks_breakdown(frame: QuestionFrame, statement: Statement) -> bool:
    """A question that states the entry's own figure (165卷, 62个) and asks how many of the
    same measure (行政处罚案卷有多少卷, 街道有几个) asks for a part of it. Unless the answer
    gives another figure of that measure, it has no breakdown to offer."""
    text = statement.text
    stated_values: dict[str, str] = {}  # each number the answer gives -> its measure
    parts: set[str] = set()  # those that may be parts of a figure
    for match in _NUMBER_RE.finditer(text):
        value = _figure_value(match)
        stated_values[value] = match.group("measure") or ""
        # A change from another year (比2018年减少89件) is no part of the figure.
        if not _CHANGE_BEFORE_RE.search(text, max(0, match.start() - 4), match.start()):
            parts.add(value)
    for value, measure in frame.given:
        stated_measure = stated_values.get(value)
        # 195个事项 is the answer's 195项: 个 counts anything.
        if stated_measure is None or not _same_measure(measure, stated_measure):
            continue
        if frame.asks_part:  # 哪类最多: the answer would have to name its kinds
            if "、" not in statement.text:
                return True
            continue
        if Asked.LIST in frame.asked:  # 19家执法部门具体是哪些: the answer must name them
            if not _lists_before(statement.text, value):
                return True
            continue
        if not any(_same_measure(asked, measure) for asked in frame.measures):
            continue
        # A part of the figure is smaller than it: 共收到申请29件 is the whole that 受理22件
        # came from, not a part of the 22.
        others = [
            v
            for v, m in stated_values.items()
            if v != value and v in parts and _same_measure(measure, m) and float(v) < float(value)
        ]
        if not others:
            return True
    return False


_CLAUSE_RE = re.compile(r"[^，,；;。：:（）()]+")
_SENTENCE_RE = re.compile(r"[^。；;]+")


def _counts(text: str, word: str) -> bool:
    """Whether `text` gives a number of `word`: the word follows a number in the same clause
    (全区政府系统62个部门, 10名法学专家、知名律师组成区政府法律顾问团队) or comes before it in
    the same sentence (案卷共计165卷; 行政复议案件中，因民事诉讼中止审理1件). Years and
    percentages count nothing. A noun that ends in a measure word is counted by that measure:
    案卷 by 卷 (165卷), not by the 家 of 19家执法部门 in the same sentence."""
    own = word[-1] if _counts_itself(word) else ""
    for sentence in _SENTENCE_RE.finditer(text):
        whole = sentence.group(0)
        for clause in _CLAUSE_RE.finditer(whole):
            part = clause.group(0)
            for number in _NUMBER_RE.finditer(part):
                if _is_year(number) or number.group("measure") == "%":
                    continue
                if own and number.group("measure") != own:  # not 19家, nor the 9 of 9月底
                    continue
                if word in part[number.end() :]:
                    return True
                if word in whole[: clause.start() + number.start()]:
                    return True
    return False


# Measure words that end the nouns they count (案卷 165卷, 文件 1件, 事项 195项, 材料 3份);
# not 家, 人 or 名, which end nouns they do not count (专家 10名, 个人, 姓名).
_SELF_COUNTING = frozenset("卷件项份")
# Nouns that end in such a measure but are counted otherwise: 证件 in 张 or 人次 (办理新证181人次).
_COUNTED_OTHERWISE = frozenset({"证件", "条件", "软件", "硬件", "附件", "零件"})


def _counts_itself(word: str) -> bool:
    """Whether `word` ends in the measure word that counts it (案卷: 165卷)."""
    return word[-1:] in _SELF_COUNTING and not word.endswith(tuple(_COUNTED_OTHERWISE))


def _states(rate: str, statement: Statement) -> bool:
    """Whether the entry names the rate, or its last three characters (行政复议受案率 is the
    受案率 an answer states), as written or as a word that sounds the same (a typo'd 受按率):
    出庭应诉率 is no 败诉率, though every character is nearby."""
    return any(_sounds_within(named, statement.text) for named in dict.fromkeys((rate, rate[-3:])))


def gives_count_of(word: str, statement: Statement) -> bool:
    """Whether the entry gives a number of the thing `word` names in the measure the word
    itself ends in (165卷 for 执法案卷, or for a mistyped 执法按卷). Only such a noun says
    unmistakably what is counted: the 19家 after 案卷评查 counts departments, not reviews."""
    return _counts_thing(statement.text, word, own_measure_only=True)


def _counts_thing(text: str, word: str, *, own_measure_only: bool = False) -> bool:
    """Whether `text` gives a number of what `word` names: of its head (案卷 of 执法案卷, as
    the text writes it), with whatever sets it apart there too (不合格案卷 are not the 165卷
    sampled, 执法案卷 are); with `own_measure_only`, only of a head that ends in its measure."""
    if word in _MEMBERS and not own_measure_only:
        # 成员 of a team the text counts in people (10名法学专家、知名律师组成…团队); not a
        # noun that says unmistakably what is counted, as `gives_count_of` asks.
        return bool(_PEOPLE_COUNT_RE.search(text))
    if _counts_head(text, word, own_measure_only):
        return True
    # A noun that counts itself, followed by what is done to it (执法案卷评查, read from "how
    # many case files were reviewed"): the noun is what is counted.
    inner = _SELF_COUNTED_RE.search(word[:-1])
    return inner is not None and _counts_head(text, word[: inner.end()], own_measure_only)


# A noun ending in a measure word that counts it (案卷, 文件, 事项), inside a longer word.
_SELF_COUNTED_RE = re.compile(r"[\u4e00-\u9fff][卷件项份]")


def _counts_head(text: str, word: str, own_measure_only: bool) -> bool:
    """`_counts_thing` of the head of `word` (its last two characters), with its modifier."""
    head = _head(word)
    modifier = word[: -len(head)]
    if modifier and not _sounds_within(modifier, text):
        return False
    written = _as_written(head, text)
    if own_measure_only and not _counts_itself(written):
        return False
    return _counts(text, written)


# Words for the people of a body, whoever they are: any count of people counts them.
_MEMBERS = frozenset({"成员", "人数", "组成人员"})
_PEOPLE_COUNT_RE = re.compile(r"(?<![\d.])\d+(?:余|多)?[名位人](?!次)")


def _as_written(word: str, text: str) -> str:
    """`word` as `text` writes it: itself, or the run of `text` that sounds the same (the
    案卷 of a mistyped 按卷); `word` when there is none."""
    if word in text:
        return word
    sounds = [fuzzy_pinyin(ch) for ch in word]
    size = len(word)
    for start in range(len(text) - size + 1):
        run = text[start : start + size]
        if all(fuzzy_pinyin(ch) == sound for ch, sound in zip(run, sounds, strict=True)):
            return run
    return word


def _head(word: str) -> str:
    """The thing a compound noun names, its last two characters: 执法案卷 counts 案卷, which the
    report may count without the modifier (各类案卷共计165卷)."""
    return word[-2:] if len(word) >= 4 else word


def _spoken_of(word: str, statement: Statement) -> bool:
    """Whether the entry's section speaks of `word`: every character of it occurs there, as
    itself or as a character that sounds the same (a typo'd 旧正 is the section's 旧证). A word
    cut oddly by the segmenter (会开, 团由) passes; a new subject (败诉, 人口) does not."""
    return all(ch in statement.vocabulary or fuzzy_pinyin(ch) in statement.sounds for ch in word)


def _holds(kind: Asked, frame: QuestionFrame, statement: Statement) -> bool:
    if kind is Asked.COUNT:
        if not statement.has_number:
            return _all_of(frame, frame.counted, statement.text)
        return not frame.measures or any(
            _same_measure(asked, stated)
            for asked in frame.measures
            for stated in statement.measures
        )
    if kind is Asked.PERCENT:
        return statement.has_percent
    if kind is Asked.DATE:
        return statement.has_date or (frame.year_only and bool(statement.explicit_years))
    if kind is Asked.DOCUMENT:
        return statement.has_document
    if kind is Asked.ORGANISATION:
        return statement.has_organisation
    if kind is Asked.MONEY:
        return statement.has_money
    if kind is Asked.REASON:
        return statement.has_reason
    if kind is Asked.RANK:
        return bool(_RANK_RE.search(statement.text))
    if kind is Asked.DURATION:
        return bool(_DURATION_RE.search(statement.text))
    if kind is Asked.STANDARD:
        return bool(_STANDARD_RE.search(statement.text))
    if kind is Asked.MEANS:
        return bool(_MEANS_RE.search(statement.text))
    if kind is Asked.LIST:
        # The items, unless the answer says they are not given or cannot say so (a draft).
        return (
            statement.lists
            and not statement.admits_gap
            and (not frame.kinds or bool(_ENUMERATION_RE.search(statement.text)))
        )
    # The report names no people, no contact details, no citizens' procedures and nothing
    # around a place.
    return False


# What says an action took in every one of its things: 已全部取消, 均已整改, 一律公开.
_IN_FULL = ("全部", "全都", "均已", "一律", "悉数")


def _all_of(frame: QuestionFrame, counted: Sequence[str], text: str) -> bool:
    """Whether `text` says the counted action was done to all of its things: 取消了多少 is
    answered by 全部取消, although no number is given. Not a count in a measure (取消了多少项
    wants the number of items, which "all" does not tell)."""
    return not frame.measures and any(
        f"{whole}{word}" in text for word in counted for whole in _IN_FULL
    )


def _same_measure(asked: str, stated: str) -> bool:
    # 几个 is the all-purpose count: 规范性文件发了几个 is answered by 1件.
    return (
        asked == stated
        or asked in LOOSE_MEASURES
        or any(asked in g and stated in g for g in _MEASURE_GROUPS)
    )


def fit(frame: QuestionFrame, statement: Statement) -> float:
    """How well the entry's kind of content fits what the question asks for, 0..1 (1: no
    objection). Used to rank: a count question prefers the entry that states the count."""
    if not frame.asked:
        return 1.0
    held = sum(_holds(kind, frame, statement) for kind in frame.asked)
    return held / len(frame.asked)
