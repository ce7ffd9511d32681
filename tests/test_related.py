"""bot.answering.related: which entries to offer under an answer, and which it already answers."""

from __future__ import annotations

from bot.answering.engine import Engine
from bot.answering.knowledge import Entry, KnowledgeBase, Replies
from bot.answering.related import MAX_OFFERED, already_stated, figures, offers


def entry(key: str, answer: str, related: tuple[str, ...] = ()) -> Entry:
    return Entry(key, key, (f"{key}?",), answer, "（二）", related=related)


def test_figures_keep_their_units_and_leave_years_out() -> None:
    assert figures("2019年收到申请29件，受案率75.86%，较2018年减少10件") == {
        "29件",
        "75.86%",
        "10件",
    }


def test_an_entry_whose_every_figure_the_answer_gives_is_already_stated() -> None:
    shown = "2019年收到申请29件，受理22件，受案率75.86%。"
    assert already_stated(shown, entry("rate", "受案率为75.86%（收到申请29件，受理22件）。"))
    assert not already_stated(shown, entry("rejected", "不予受理4件，撤回1件。"))


def test_single_digit_counts_alone_do_not_count_as_the_same_fact() -> None:
    shown = "告知其向有权部门申请1件。"
    assert not already_stated(shown, entry("withdrawn", "逾期未补正视为撤回1件。"))
    assert already_stated(shown, entry("same", "告知其向有权部门申请1件。"))  # the whole answer


def test_an_answer_without_figures_is_stated_only_when_repeated_whole() -> None:
    assert already_stated("区里建立了法律顾问制度，全面覆盖。", entry("a", "建立了法律顾问制度"))
    assert not already_stated("区里建立了法律顾问制度。", entry("b", "开展了以案说法活动。"))


def test_offers_put_runners_up_first_skip_repeats_and_stop_at_three() -> None:
    main = entry("main", "收到29件。", related=("r1", "r2", "r3", "r4", "dup"))
    others = [entry(f"r{n}", f"另一件事{n}。") for n in range(1, 5)]
    dup = entry("dup", "收到29件。")
    kb = KnowledgeBase((main, *others, dup), {}, Replies({}), "")
    offered = offers(kb, main, main.answer, also=[others[3], main])
    assert [(o.entry.id, o.kind) for o in offered] == [
        ("r4", "also"),
        ("r1", "related"),
        ("r2", "related"),
    ]
    assert len(offered) == MAX_OFFERED


def test_no_shipped_answer_offers_an_entry_it_already_states(shipped_engine: Engine) -> None:
    kb = shipped_engine.kb
    for item in kb.entries:
        for offer in offers(kb, item, item.answer):
            assert not already_stated(item.answer, offer.entry), (item.id, offer.entry.id)
