"""Normalisation of Chinese (and some English) questions, shared by the knowledge base and queries.

Both sides of every comparison go through the same `Normaliser`, so a knowledge-base question
and a user's question that mean the same words end up as the same string: full/half width,
case, traditional characters, Chinese numerals, dates and synonyms are folded away, and filler
words that carry no meaning are dropped. Pure: no I/O, no Telegram, no database.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

import opencc
from pypinyin import Style, lazy_pinyin

from bot.privacy import TRUNCATION_MARK as TRUNCATION_MARK
from bot.privacy import cut as cut
from bot.privacy import repair as repair

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# A token is one CJK character, or a run of latin letters / digits (a number keeps its
# decimal point and percent sign: "92.3%", "2019年" -> "2019", "年").
_TOKEN_RE = re.compile(f"[{_CJK}]|[a-z]+|\\d+(?:\\.\\d+)?%?")

# Words that decorate a question without changing what it asks. Longest first.
DEFAULT_FILLERS: tuple[str, ...] = (
    "我想问一下",
    "想问一下",
    "请问一下",
    "我想知道",
    "我想了解",
    "能不能告诉我",
    "可以告诉我",
    "告诉我",
    "请告诉我",
    "麻烦问一下",
    "谢谢你",
    "谢谢",
    "多谢",
    "急急急",
    "急求",
    "在线等",
    "求解答",
    "求告知",
    # How the asker feels about it (烦死了, 乱七八糟的证明): not what is asked.
    "烦死人了",
    "烦死了",
    "急死了",
    "气死了",
    "乱七八糟",
    # How much of a thing, said in passing (开一大堆证明, 降了这么多): the thing is what is asked.
    "一大堆",
    "一大摞",
    "一堆",
    "那么多",
    "这么多",
    "你好",
    "您好",
    "请问",
    "想问",
    "麻烦",
    "一下",
    "呢",
    "吗",
    "啊",
    "呀",
    "吧",
    "哦",
    "嘛",
    "呗",
    "哈",
    "的",
)
# Words that say what kind of answer is wanted (how many, which, how) or glue a sentence together,
# but not what it is about. They stay in the text (word order still counts) but weigh little, so
# "2019年一共收到了几件行政复议申请" is judged on 2019年 / 收到 / 行政复议申请.
QUESTION_WORDS: tuple[str, ...] = tuple(
    """多少 几 什么 啥 哪些 哪个 哪几 哪里 哪儿 哪 谁 怎么样 怎么 怎样 如何 为什么 为何 是否 有没有 是不是
    有多少 一共 总共 共有 共 分别 具体 都 是 有 了 和 与 跟 及 同 对 在 把 被 给 这 那 个 些 呢 吗 方面
    主要 目前 现在 还 也 就 又 能 会 要 可以 我们 你们 我 你 他 她 它 请 吧 着 过 里 中 情况 内容 哪方面 一些
    相关 关于 有关 进行 开展 工作 是多少 多大 怎么回事 啥样 么 吗 呀 哦 所 其 之 以 为
    数量 总数 数目 数字
    怎么解决 怎么处理 如何解决 如何处理 怎么办 怎么做 做了什么 做了哪些 干了什么 有哪些 有什么 讲了什么
    说了什么 是什么 什么意思 指什么 是指 做 搞 干 弄
    工作报告中 工作报告里 工作报告提到 工作报告里说 工作报告中说 工作报告显示 工作报告说
    包括 包含 涵盖 哪几方面 几个方面
    人民群众 群众 区里""".split()
)
# Wuhan's districts (bot/answering/constraints.py: a question naming another is a near miss).
WUHAN_DISTRICTS: tuple[str, ...] = (
    "江岸区",
    "江汉区",
    "硚口区",
    "汉阳区",
    "武昌区",
    "青山区",
    "洪山区",
    "东西湖区",
    "汉南区",
    "蔡甸区",
    "江夏区",
    "黄陂区",
    "新洲区",
    "东湖高新区",
    "光谷",
    "经开区",
)
# Place names say *where*, which bot/answering/constraints.py checks against the entry (as it
# checks years); they weigh as question words, so "武汉的人口" is not an answer about a 武汉市
# document on the strength of the city's name alone.
PLACE_WORDS: tuple[str, ...] = ("武汉市", "武汉", "湖北省", "湖北", *WUHAN_DISTRICTS)
QUESTION_WEIGHT = 0.15
MEASURE_WEIGHT = 0.5
# "多少件", "几家", "多少人次": the measure word after a question word (see question_word_mask).
_ASKED_MEASURES = "件起项个家名卷次人位条份类种"
_QUESTION_WORD_RE = re.compile(
    f"有?(?:多少|几)(?P<measure>人次|[{_ASKED_MEASURES}])|"
    + "|".join(
        re.escape(w) for w in sorted(set(QUESTION_WORDS + PLACE_WORDS), key=len, reverse=True)
    )
)


# 不予受理 is not 受理: a question and a phrasing that disagree on negation ask for different
# facts although they share almost every character. A-not-A questions (有没有, 够不够, 是不是)
# and a few fixed words (不断, 不仅, 无论) negate nothing.
_A_NOT_A_RE = re.compile(r"([\u4e00-\u9fff])[不没]\1")
_NOT_NEGATING_RE = re.compile(r"不断|不仅|不但|不管|无论|不论|毫无疑问|并非只|不服|不满")
_NEGATION_RE = re.compile(r"[不没未无]|非法|否")


def is_negated(text: str) -> bool:
    """Whether a normalised text negates something (不予受理, 未达标, 没补正)."""
    text = _NOT_NEGATING_RE.sub(" ", _A_NOT_A_RE.sub(" ", text))
    return bool(_NEGATION_RE.search(text))


# A question about what is planned (今后怎么做, 明年打算) rather than what was done.
_FUTURE_RE = re.compile(
    r"下步工作打算|下一?步|今后|以后|往后|明年|将来|未来|打算|计划|准备(?!什么|哪些|啥|材料|好)|将要|"
    r"接下来|后续|继续|会不会"
)
# A section of plans: 三、下步工作打算, 下一步工作计划, 今后工作展望.
_PLAN_SECTION_RE = re.compile(r"打算|计划|下一?步|展望|今后")


def several(text: str, mark: str = "若干") -> str:
    """`text` with each 几 that means "several" rather than "how many" as 若干 (好几次,
    几个部门职责分不清…怎么处理); with a one-character `mark`, a text as long as `text`."""
    pair = mark * 2 if len(mark) == 1 else mark  # for 好几
    return _SEVERAL_BEFORE_HOW_RE.sub(mark, _SEVERAL_RE.sub(pair, text))


def is_future(text: str) -> bool:
    """Whether a normalised question asks about plans rather than what was done."""
    return bool(_FUTURE_RE.search(text))


def is_plan_section(source: str) -> bool:
    """Whether a section of the report sets out plans (its title says so)."""
    return bool(_PLAN_SECTION_RE.search(source))


# A question about the report's shortcomings. The synonyms bring the ways people say it
# (有什么问题, 短板, 欠缺, 不足之处) to the report's heading 存在问题.
_PROBLEM = "存在问题"
# A section of shortcomings: 二、存在问题, 存在的问题与不足.
_PROBLEM_SECTION_RE = re.compile(r"存在(?:的)?问题|问题和不足|问题与不足")


def asks_problem(text: str) -> bool:
    """Whether a normalised question asks what falls short rather than what was done."""
    return _PROBLEM in text


# How something is made better or learnt: 怎么提高业务水平, 平时是怎么学习法律知识的.
# A sum to work out (2加2等于几, 100减7是多少, what is 2 plus 2): no report states its result,
# whatever report sentence holds the same digits (两次 is 2次).
_ARITHMETIC_RE = re.compile(
    r"\d+(?:\.\d+)?\s*(?:加上?|减去?|乘以?|除以?|[+\-*/×÷]|plus|minus|times|divided by)\s*\d+"
    r"(?:\.\d+)?\s*(?:等于|是|得|=|equals?|is)?\s*(?:多少|几|啥|什么|\?|？|$)"
)


def asks_arithmetic(text: str) -> bool:
    """Whether a question asks for the result of a sum."""
    folded = unicodedata.normalize("NFKC", text).casefold()  # keeps + - × = as they are
    return bool(_ARITHMETIC_RE.search(folded) or _ARITHMETIC_RE.search(clean(text)))


_REMEDY_RE = re.compile(r"(?:怎么|如何|怎样|咋)\S{0,2}(?:提高|提升|加强|增强|改进|学)")


def asks_remedy(text: str) -> bool:
    """Whether a normalised question asks how something is improved or learnt: what is done
    about it, which a shortcoming (素质能力水平参差不齐) does not tell."""
    return bool(_REMEDY_RE.search(text))


def is_problem_section(source: str) -> bool:
    """Whether a section of the report sets out its shortcomings (its title says so)."""
    return bool(_PROBLEM_SECTION_RE.search(source))


def question_word_mask(toks: list[str] | tuple[str, ...]) -> list[float]:
    """Per token, how much of its weight to keep: 1.0 for content, `QUESTION_WEIGHT` for question
    and function words, `MEASURE_WEIGHT` for the measure word after 多少/几 (longest match wins).

    The measure word is kept at half weight because it does say *which* figure is asked:
    多少卷 (165卷) is not 多少家 (19家), while 有多少起 is the same question as 有多少.
    """
    mask = [1.0] * len(toks)
    joined = "".join(toks)
    if len(joined) == len(toks) and _CJK_RUN_RE.fullmatch(joined):
        # Every token is a CJK character: the text is one run (the usual case).
        _mask_run(mask, joined, 0)
        return mask
    # Token positions of each character in the CJK-only string: latin/number tokens break runs.
    start = 0
    while start < len(toks):
        if not is_cjk(toks[start]):
            start += 1
            continue
        end = start
        while end < len(toks) and is_cjk(toks[end]):
            end += 1
        _mask_run(mask, "".join(toks[start:end]), start)
        start = end
    return mask


def _mask_run(mask: list[float], run: str, start: int) -> None:
    """Mark the question words of `run`, a run of CJK tokens from token `start` on."""
    for match in _QUESTION_WORD_RE.finditer(run):
        for i in range(start + match.start(), start + match.end()):
            mask[i] = QUESTION_WEIGHT
        if match.group("measure"):
            for i in range(start + match.start("measure"), start + match.end("measure")):
                mask[i] = MEASURE_WEIGHT


# English words that only glue a question together; content words survive (and unknown ones
# count against a match, which is what rejects gibberish such as "qwerty").
ENGLISH_STOPWORDS: frozenset[str] = frozenset(
    """a an the of in on at to for by with from and or is are was were be been being do does did
    what which who whom whose when where why how there this that these those it its i we you
    they their them he she him his her us me my our your please tell can could would should will
    about any some much has have had many mention mentioned say said list show give get got know
    describe explain regarding concerning according also still""".split()
)

_CN_DIGITS = {
    "〇": 0,
    "零": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10000}
_NUM_CHARS = "〇零一二两三四五六七八九十百千万"
# A Chinese numeral is converted only where it is a quantity: before a measure word, a unit or
# a date part. Elsewhere (统一, 一律, 两法衔接) the characters are words, not numbers.
_MEASURE = "件名个家卷项次人年月日号届%倍余多条份期批"
_PERCENT_RE = re.compile(f"百分之([{_NUM_CHARS}]+(?:点[〇零一二三四五六七八九]+)?)")
_DIGIT_RUN_RE = re.compile("([〇零一二三四五六七八九]{2,4})(?=年)")
_QUANTITY_RE = re.compile(f"([{_NUM_CHARS}]+(?:点[〇零一二三四五六七八九]+)?)(?=[{_MEASURE}])")
_ISO_DATE_RE = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")
_LATIN_WORD_RE = re.compile(r"[a-z]{4,}")
# "除了代理官司，还参与了哪些工作": what follows 除了 is what the asker already knows, not what
# they ask about; it would pull the match towards the wrong fact. Read on the text as written,
# where a comma still ends what is set aside (除了代理官司，律师团队还…).
_ALREADY_KNOWN_RE = re.compile(
    r"除了(?:[^,，、。；;？?！!\s]*?(?:以外|之外)|[^,，、。；;？?！!\s]*?(?=[,，、；;\s]|还|也|另外))"
    r"[,，、；;\s]*"
)
_SET_ASIDE_EDGES_RE = re.compile(r"^除了|(?:以外|之外)?[,，、；;\s]*$")


def set_aside(text: str) -> str:
    """What a question says it already knows, read with the subject before it: "律师们打官司"
    of "律师们除了打官司还干了什么". Empty when it sets nothing aside."""
    found = _ALREADY_KNOWN_RE.search(text)
    if found is None:
        return ""
    known = _SET_ASIDE_EDGES_RE.sub("", found.group(0))
    return text[: found.start()] + known if known else ""


# A verb said twice around 一 (审一审, 查一查, 看一看) is the verb: "have a look".
_TRIED_VERB_RE = re.compile(r"([\u4e00-\u9fff])(?:一\1)+")
# 负责法制工作的人 is what the report calls 法制工作人员: "the people who…", closing a phrase
# (at its end, or before a final particle).
_PEOPLE_WHO_RE = re.compile(
    r"(?<=[\u4e00-\u9fff])的(?:那些|这些)?人(?=[吗呢吧啊呀]|(?![\u4e00-\u9fff]))"
)
# 好几次, 好几个: "several", not a question of how many (which 几次 would become).
_SEVERAL_RE = re.compile(r"好几(?=[个次件项份条名家位人])")
# 几个/几家 inside a clause, not asked of (有几个, 共几家), in a question that goes on to ask
# how or why: 几个部门职责分不清，区里是怎么处理的 tells of several departments.
_SEVERAL_BEFORE_HOW_RE = re.compile(
    r"(?<![有了共是])几(?=[个家].*?(?:怎么|怎样|如何|咋|为什么|为啥|靠什么))"
)
# Markup people paste along with a question (<b>, </script>, <br/>) says nothing about it.
_TAG_RE = re.compile(r"</?[a-z][a-z0-9-]*(?:\s[^<>]*)?/?>")


def chinese_to_number(numeral: str) -> str | None:
    """Convert a Chinese numeral ("二十九", "一千三百", "九十二点三", "二〇一九") to digits.

    Returns None when the characters do not form a number, so callers leave them alone.
    """
    if not numeral:
        return None
    whole, _, frac = numeral.partition("点")
    if frac and not all(ch in _CN_DIGITS for ch in frac):
        return None
    if whole and all(ch in _CN_DIGITS for ch in whole) and len(whole) > 1:
        digits = "".join(str(_CN_DIGITS[ch]) for ch in whole)
    else:
        value = _parse_with_units(whole)
        if value is None:
            return None
        digits = str(value)
    if frac:
        digits += "." + "".join(str(_CN_DIGITS[ch]) for ch in frac)
    return digits


def _parse_with_units(text: str) -> int | None:
    if not text:
        return None
    total, section, digit, last_unit = 0, 0, None, 10**9
    for ch in text:
        if ch in _CN_DIGITS:
            if digit is not None and digit != 0:
                return None  # two digits in a row without a unit: not a number
            digit = _CN_DIGITS[ch]
        elif ch in _CN_UNITS:
            unit = _CN_UNITS[ch]
            if unit >= last_unit and unit != 10000:
                return None  # 十十, 百千: units must fall within a section
            last_unit = unit
            if unit == 10000:
                last_unit = 10**9
                section = (section + (digit or 0)) * unit
                total += section
                section = 0
            else:
                section += (1 if digit is None else digit) * unit
            digit = None
        else:
            return None
    return total + section + (digit or 0)


def fold_numerals(text: str) -> str:
    """Width-folded text with Chinese numerals as digits, punctuation kept (两次 -> 2次)."""
    return _replace_numerals(unicodedata.normalize("NFKC", text))


def _replace_numerals(text: str) -> str:
    def percent(match: re.Match[str]) -> str:
        value = chinese_to_number(match.group(1))
        return f"{value}%" if value is not None else match.group(0)

    def digits(match: re.Match[str]) -> str:
        value = chinese_to_number(match.group(1))
        return value if value is not None else match.group(0)

    text = _PERCENT_RE.sub(percent, text)
    text = _DIGIT_RUN_RE.sub(digits, text)
    text = _QUANTITY_RE.sub(digits, text)

    def iso_date(match: re.Match[str]) -> str:
        year, month, day = match.groups()
        return f"{year}年{int(month)}月{int(day)}日"

    return _ISO_DATE_RE.sub(iso_date, text)


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional -> simplified Chinese (OpenCC's t2s, phrase-aware)."""
    return str(_t2s().convert(text))


def _is_kept(ch: str) -> bool:
    category = unicodedata.category(ch)
    return category[0] in "LN" or ch in "%." or ch.isspace()


class _KeptTable(dict[int, str]):
    """`str.translate` table: a character `_is_kept` keeps maps to itself, any other to a
    space. Filled in as characters are first seen, so a text is folded in C; only those of the
    Basic Multilingual Plane are kept, so the table stays small whatever people send."""

    def __missing__(self, code: int) -> str:
        ch = chr(code)
        kept = ch if _is_kept(ch) else " "
        if code <= 0xFFFF:
            self[code] = kept
        return kept


_KEPT = _KeptTable()


@lru_cache(maxsize=8192)
def clean(text: str) -> str:
    """Width, case, script and punctuation folding: the part of normalisation without word lists.

    Control and format characters (zero-width joiners, RTL marks), punctuation and symbols
    (emoji included) become spaces; what is left is letters, digits, '%' and '.'.
    """
    text = to_simplified(unicodedata.normalize("NFKC", text).casefold())
    text = _TAG_RE.sub(" ", text)
    text = _replace_numerals(text)
    text = text.translate(_KEPT)
    return compact(_LATIN_WORD_RE.sub(_singular, text))


def _singular(match: re.Match[str]) -> str:
    """English plurals -> singular, so "case files" and "case file" are one phrase."""
    word = match.group(0)
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def tokens(text: str) -> list[str]:
    """Split text into matching tokens: CJK characters one by one, latin words and numbers whole."""
    return _TOKEN_RE.findall(text)


def compact(text: str) -> str:
    """Join tokens so CJK runs have no spaces and latin words/numbers keep one between them."""
    joined = text.replace(" ", "")
    if _CJK_RUN_RE.fullmatch(joined):  # CJK characters and spaces only: the usual case
        return joined
    return _joined(_TOKEN_RE.findall(text))


# Between two tokens joined by one space, the space `compact` drops: one beside a CJK character.
_CJK_SPACE_RE = re.compile(f" (?=[{_CJK}])|(?<=[{_CJK}]) ")
# Text made of CJK characters only.
_CJK_RUN_RE = re.compile(f"[{_CJK}]*")


def _joined(toks: list[str]) -> str:
    """Tokens joined as `compact` joins them (one regex pass: normalising calls it three times;
    none when every token is a CJK character, the usual case)."""
    joined = "".join(toks)
    if len(joined) == len(toks) and _CJK_RUN_RE.fullmatch(joined):
        return joined
    return _CJK_SPACE_RE.sub("", " ".join(toks))


def is_cjk(token: str) -> bool:
    """Whether a token is one CJK character (tokens never mix scripts)."""
    return len(token) == 1 and (
        "\u4e00" <= token <= "\u9fff"
        or "\u3400" <= token <= "\u4dbf"
        or "\uf900" <= token <= "\ufaff"
    )


# Pinyin initials and finals that people commonly confuse when typing pinyin (and that the
# Wuhan dialect merges: n/l); folding them makes 法律顾文 ~ 法律顾问 and 出庭硬诉 ~ 出庭应诉.
_INITIAL_FOLDS: tuple[tuple[str, str], ...] = (("zh", "z"), ("ch", "c"), ("sh", "s"), ("n", "l"))
_FINAL_FOLDS: tuple[tuple[str, str], ...] = (
    ("ing", "in"),
    ("eng", "en"),
    ("ang", "an"),
    ("v", "u"),
)


@lru_cache(maxsize=8192)
def fuzzy_pinyin(char: str) -> str:
    """A folded, toneless pinyin syllable for one CJK character (the character itself otherwise)."""
    if not is_cjk(char):
        return char
    syllable: str = lazy_pinyin(char, style=Style.NORMAL, errors="default")[0]
    for old, new in _INITIAL_FOLDS:
        if syllable.startswith(old):
            syllable = new + syllable[len(old) :]
            break
    for old, new in _FINAL_FOLDS:
        if syllable.endswith(old):
            syllable = syllable[: -len(old)] + new
            break
    return syllable


@dataclass(frozen=True)
class Normaliser:
    """Turns a question into the canonical form the matcher compares.

    Args:
        synonyms: variant -> canonical wording (the report's). Longest match wins, and a
            canonical term maps to itself, so 行政复议 is never expanded again via 复议.
        fillers: words removed after synonyms are applied.
        stopwords: English words dropped once synonyms have had their say ("how many" first
            becomes 多少, then a lone "the" goes).
    """

    synonyms: Mapping[str, str] = field(default_factory=dict)
    fillers: tuple[str, ...] = DEFAULT_FILLERS
    stopwords: frozenset[str] = ENGLISH_STOPWORDS
    _synonym_index: dict[str, list[tuple[int, frozenset[str]]]] = field(
        init=False, default_factory=dict, repr=False
    )
    _synonym_map: dict[str, str] = field(init=False, default_factory=dict, repr=False)
    _two_character_words: frozenset[str] = field(init=False, default=frozenset(), repr=False)
    _filler_re: re.Pattern[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        mapping: dict[str, str] = {}
        fillers = sorted((clean(f) for f in self.fillers if clean(f)), key=len, reverse=True)
        filler_pattern = "|".join(re.escape(f) for f in fillers) or "(?!)"
        filler_re = re.compile(filler_pattern)
        object.__setattr__(self, "_filler_re", filler_re)
        for variant, canonical in self.synonyms.items():
            key = compact(filler_re.sub(" ", clean(variant)))
            value = compact(filler_re.sub(" ", clean(canonical)))
            if key and value:
                mapping[key] = value
                mapping.setdefault(value, value)
        by_start: dict[str, dict[int, set[str]]] = {}
        for key in mapping:
            by_start.setdefault(key[0], {}).setdefault(len(key), set()).add(key)
        index = {
            start: [(size, frozenset(keys)) for size, keys in sorted(sizes.items(), reverse=True)]
            for start, sizes in by_start.items()
        }
        object.__setattr__(self, "_synonym_index", index)
        object.__setattr__(self, "_synonym_map", mapping)
        pairs = frozenset(word for word in mapping if len(word) == 2 and all(map(is_cjk, word)))
        object.__setattr__(self, "_two_character_words", pairs)

    def __call__(self, text: str) -> str:
        return self.normalise(text)

    def normalise(self, text: str) -> str:
        """The canonical form of `text`; an empty string when nothing meaningful is left."""
        # Fillers go first too, so a synonym written without 的 also matches "出庭应诉的比例".
        text = several(clean(_PEOPLE_WHO_RE.sub("人员", _ALREADY_KNOWN_RE.sub(" ", text))))
        text = compact(self._filler_re.sub(" ", text))
        if self._synonym_index:
            # Twice: two variants side by side may together be a third (收下 + 比例 are
            # 受理 + 占比, which is 受案率). A pass that changed nothing would change nothing
            # again.
            once = self._apply_synonyms(text)
            text = once if once == text else self._apply_synonyms(once)
        # After the synonyms, which may name such a form themselves (理一理 -> 梳理).
        text = _TRIED_VERB_RE.sub(r"\1", text)
        # 搞执法的那些人: 搞执法 is 行政执法人员 already, and the people who do it are 人员.
        text = text.replace("人员人员", "人员")
        text = self._filler_re.sub(" ", text)
        stopwords = self.stopwords
        return _joined([tok for tok in tokens(text) if tok not in stopwords or is_cjk(tok)])

    def _apply_synonyms(self, text: str) -> str:
        """Replace variants by canonicals, leftmost-longest, collapsing back-to-back repeats.

        "告政府的官司" has two variants of 行政诉讼 side by side; the question mentions it once.
        The variants are indexed by first character and length, longest first, so a position
        costs one set look-up per length a variant starting there has (not one per variant).
        """
        index, mapping, pairs = self._synonym_index, self._synonym_map, self._two_character_words
        out: list[str] = []
        last_canonical = ""
        i, size = 0, len(text)
        while i < size:
            for length, keys in index.get(text[i], ()):
                key = text[i : i + length]
                if (
                    key in keys
                    and _whole_word(text, i, i + length)
                    and not (
                        length > 2
                        and text[i + length - 1 : i + length + 1] in pairs
                        and key[:-1] in mapping
                    )
                ):
                    canonical = mapping[key]
                    if canonical != last_canonical:
                        out.append(canonical)
                    last_canonical = canonical
                    i += len(key)
                    break
            else:
                ch = text[i]
                out.append(ch)
                if ch != " ":
                    last_canonical = ""
                i += 1
        return "".join(out)


def _whole_word(text: str, start: int, end: int) -> bool:
    """Latin variants match whole words only, so "case" does not fire inside "showcase"."""
    before = text[start - 1] if start else " "
    after = text[end] if end < len(text) else " "
    first, last = text[start], text[end - 1]
    if first.isascii() and first.isalnum() and before.isascii() and before.isalnum():
        return False
    return not (last.isascii() and last.isalnum() and after.isascii() and after.isalnum())


def invert_synonyms(groups: Mapping[str, Iterable[str]]) -> dict[str, str]:
    """{canonical: [variants]} as written in synonyms.yaml -> {variant: canonical}."""
    return {variant: canonical for canonical, variants in groups.items() for variant in variants}


# --- text from outside: repaired, capped, safe to print ------------------------------------------
# `repair`, `cut` and TRUNCATION_MARK live in bot.privacy (capping a text must not leave half a
# phone number); they are re-exported here for the answering side.

# Characters that make a terminal do something rather than show something: C0 controls but tab
# and newline (ESC starts escape sequences, CR goes back over the line, BEL rings), DEL, the C1
# controls (U+009B alone starts a sequence in many terminals) and the bidirectional controls that
# reorder what is shown ("Trojan Source").
_TERMINAL_CONTROLS: tuple[int, ...] = (
    *range(0x00, 0x09),
    *range(0x0B, 0x20),
    *range(0x7F, 0xA0),
    0x061C,
    0x200E,
    0x200F,
    *range(0x202A, 0x202F),
    *range(0x2066, 0x206A),
)
_STRIP_CONTROLS: dict[int, None] = dict.fromkeys(_TERMINAL_CONTROLS)
_ESCAPE_CONTROLS: dict[int, str] = {code: f"\\u{code:04x}" for code in _TERMINAL_CONTROLS}


def strip_terminal_controls(text: str) -> str:
    """`text` without terminal control and bidi characters: safe to print to a terminal, a CSV
    file or anything else a person reads. Newlines and tabs stay."""
    return text.translate(_STRIP_CONTROLS)


def escape_terminal_controls(json_text: str) -> str:
    """JSON text with the characters `strip_terminal_controls` removes written as \\uXXXX
    escapes instead: the same data for a program, nothing a terminal would act on.

    Only for the output of `json.dumps`, where such characters can only be inside strings
    (it escapes the C0 controls itself, but not DEL, C1 or bidi controls).
    """
    return json_text.translate(_ESCAPE_CONTROLS)
