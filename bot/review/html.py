"""A `Report` as one self-contained HTML page with charts (`kbbot report --html FILE`).

Everything is inline: the data as a JSON block, one stylesheet and one script that draws the
charts as SVG (the clusters' small weekly charts are SVG written into the table here, from
numbers only). No network, no CDN, no fonts to fetch. The page is opened on staff machines,
maybe from an e-mail attachment, and contains questions typed by the public, so it is strict:
a Content-Security-Policy allows nothing but its own stylesheet and script (by hash), question
text only ever reaches the page as escaped text (html.escape on the server, textContent in the
script), and the script records in the DOM what it drew (`data-points` on each chart,
`data-rendered` on <html>) and any blocked request (`data-blocked`), so a headless browser can
check it.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from datetime import datetime
from typing import Any

from bot.answering.text import escape_terminal_controls, strip_terminal_controls
from bot.review.output import report_json, week_labels
from bot.review.report import (
    Cluster,
    Report,
    comparison_text,
    coverage_text,
    summary_lines,
    trend_text,
    weeks_text,
)

_STYLE = """
:root { --ok: #2e7d5b; --no: #e07b39; --bad: #c0392b; --ink: #1f2933; --muted: #6b7785;
        --line: #d9dee4; --bg: #f6f7f9; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, "Noto Sans CJK SC", "PingFang SC",
       "Microsoft YaHei", sans-serif; color: var(--ink); background: var(--bg); }
header, main { max-width: 1040px; margin: 0 auto; padding: 0 20px; }
header { padding-top: 24px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 0 0 12px; }
.muted { color: var(--muted); }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); gap: 12px;
         margin: 20px 0; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; }
.card .value { font-size: 26px; font-weight: 600; }
.card .label { color: var(--muted); font-size: 13px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 16px 20px;
          margin: 0 0 20px; }
figure { margin: 0; }
svg { width: 100%; height: auto; display: block; }
svg text { font-size: 12px; fill: var(--ink); }
svg .axis { stroke: var(--line); }
svg .ok { fill: var(--ok); }
svg .no { fill: var(--no); }
svg .bad { fill: var(--bad); }
svg .empty { fill: var(--muted); font-size: 14px; }
.legend span { display: inline-block; margin-right: 16px; font-size: 13px; }
.legend i { display: inline-block; width: 10px; height: 10px; margin-right: 6px;
            border-radius: 2px; }
.legend .ok { background: var(--ok); } .legend .no { background: var(--no); }
.legend .bad { background: var(--bad); }
table { border-collapse: collapse; width: 100%; margin-top: 8px; font-size: 14px; }
th { white-space: nowrap; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line);
         vertical-align: top; }
td.n { white-space: nowrap; text-align: right; font-variant-numeric: tabular-nums; }
td.nw { white-space: nowrap; }
svg.spark { width: 130px; height: 26px; display: inline-block; vertical-align: middle; }
svg.spark rect { fill: var(--no); }
svg.spark line { stroke: var(--line); }
details { margin-top: 8px; }
summary { cursor: pointer; color: var(--muted); }
footer { max-width: 1040px; margin: 0 auto 24px; padding: 0 20px; color: var(--muted);
         font-size: 13px; }
"""

# Draws every chart from the JSON block. Text goes in through textContent only.
_SCRIPT = """
"use strict";
(function () {
  var root = document.documentElement;
  var blocked = 0;
  document.addEventListener("securitypolicyviolation", function () {
    blocked += 1;
    root.setAttribute("data-blocked", String(blocked));
  });
  var NS = "http://www.w3.org/2000/svg";
  function el(name, attrs, parent) {
    var node = document.createElementNS(NS, name);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, String(attrs[k])); });
    if (parent) { parent.appendChild(node); }
    return node;
  }
  function text(parent, x, y, value, attrs) {
    var node = el("text", Object.assign({ x: x, y: y }, attrs || {}), parent);
    node.textContent = value;
    return node;
  }
  function tip(node, value) { el("title", {}, node).textContent = value; }
  function clip(value, n) { return value.length > n ? value.slice(0, n - 1) + "…" : value; }
  function svg(figure, width, height) {
    var node = el("svg", { viewBox: "0 0 " + width + " " + height, role: "img" });
    node.setAttribute("aria-label", figure.getAttribute("aria-label") || "");
    figure.appendChild(node);
    return node;
  }
  function empty(figure) {
    var node = svg(figure, 760, 60);
    text(node, 10, 35, "（这段时间没有数据）", { "class": "empty" });
    figure.setAttribute("data-points", "0");
  }

  function drawDays(figure, days) {
    var total = days.reduce(function (s, d) { return s + d.answered + d.unanswered; }, 0);
    if (!days.length || !total) { empty(figure); return; }
    var W = 760, H = 260, left = 40, bottom = 28, top = 12;
    var node = svg(figure, W, H);
    var max = Math.max.apply(null, days.map(function (d) { return d.answered + d.unanswered; }));
    var step = (W - left - 10) / days.length, bar = Math.max(step * 0.7, 1);
    var scale = (H - top - bottom) / max;
    [0, 0.5, 1].forEach(function (f) {
      var y = H - bottom - f * max * scale;
      el("line", { x1: left, x2: W - 10, y1: y, y2: y, "class": "axis" }, node);
      text(node, left - 6, y + 4, String(Math.round(f * max)), { "text-anchor": "end" });
    });
    var drawn = 0;
    var every = Math.ceil(days.length / 10);
    days.forEach(function (d, i) {
      var x = left + i * step + (step - bar) / 2;
      var hOk = d.answered * scale, hNo = d.unanswered * scale;
      var g = el("g", { "class": "day" }, node);
      if (d.answered) {
        el("rect", { x: x, y: H - bottom - hOk, width: bar, height: hOk, "class": "ok" }, g);
        drawn += 1;
      }
      if (d.unanswered) {
        el("rect", { x: x, y: H - bottom - hOk - hNo, width: bar, height: hNo, "class": "no" }, g);
        drawn += 1;
      }
      tip(g, d.day + "：已回答 " + d.answered + "，未回答 " + d.unanswered);
      if (i % every === 0) { text(node, x + bar / 2, H - 8, d.day.slice(5), { "text-anchor": "middle" }); }
    });
    figure.setAttribute("data-points", String(drawn));
  }

  // rows: [{label, parts: [{value, cls, name}]}]
  function drawBars(figure, rows) {
    rows = rows.filter(function (r) { return r.parts.some(function (p) { return p.value > 0; }); });
    if (!rows.length) { empty(figure); return; }
    var W = 760, row = 26, labelW = 260, H = rows.length * row + 10;
    var node = svg(figure, W, H);
    var max = Math.max.apply(null, rows.map(function (r) {
      return r.parts.reduce(function (s, p) { return s + p.value; }, 0);
    }));
    var scale = (W - labelW - 60) / max, drawn = 0;
    rows.forEach(function (r, i) {
      var y = 5 + i * row, x = labelW, sum = 0;
      var g = el("g", { "class": "bar" }, node);
      text(g, labelW - 8, y + 16, clip(r.label, 20), { "text-anchor": "end" });
      r.parts.forEach(function (p) {
        if (!p.value) { return; }
        el("rect", { x: x, y: y + 3, width: Math.max(p.value * scale, 1), height: row - 8, "class": p.cls }, g);
        x += p.value * scale; sum += p.value; drawn += 1;
      });
      text(g, x + 6, y + 16, String(sum));
      tip(g, r.label + "：" + r.parts.map(function (p) { return p.name + " " + p.value; }).join("，"));
    });
    figure.setAttribute("data-points", String(drawn));
  }

  function entryLabel(e) { return e.topic || e.entry_id; }

  function draw() {
    var data = JSON.parse(document.getElementById("report-data").textContent);
    drawDays(document.getElementById("chart-days"), data.days);
    drawBars(document.getElementById("chart-entries"), data.top_entries.map(function (e) {
      return { label: entryLabel(e), parts: [{ value: e.served, cls: "ok", name: "次数" }] };
    }));
    drawBars(document.getElementById("chart-clusters"), data.unanswered_clusters.map(function (c) {
      return { label: c.examples[0] || c.key, parts: [{ value: c.count, cls: "no", name: "次数" }] };
    }));
    var seen = {}, feedback = [{ label: "全部问题", parts: [
      { value: data.totals.helpful, cls: "ok", name: "有帮助" },
      { value: data.totals.unhelpful, cls: "bad", name: "没帮助" }] }];
    data.unhelpful_entries.concat(data.top_entries).forEach(function (e) {
      if (seen[e.entry_id] || !(e.helpful || e.unhelpful)) { return; }
      seen[e.entry_id] = true;
      feedback.push({ label: entryLabel(e), parts: [
        { value: e.helpful, cls: "ok", name: "有帮助" },
        { value: e.unhelpful, cls: "bad", name: "没帮助" }] });
    });
    drawBars(document.getElementById("chart-feedback"), feedback);
    root.setAttribute("data-rendered", "ok");
  }
  document.addEventListener("DOMContentLoaded", draw);
})();
"""


def _csp_hash(source: str) -> str:
    digest = hashlib.sha256(source.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


CONTENT_SECURITY_POLICY = (
    "default-src 'none'; "
    f"style-src {_csp_hash(_STYLE)}; "
    f"script-src {_csp_hash(_SCRIPT)}; "
    "img-src 'none'; connect-src 'none'; font-src 'none'; "
    "base-uri 'none'; form-action 'none'"
)


def _json_for_script(data: Any) -> str:
    """JSON that cannot end its <script> block early, whatever the questions contain (nor
    drive a terminal that `cat`s the page: control characters are escaped too)."""
    text = escape_terminal_controls(json.dumps(data, ensure_ascii=False))
    for raw, escaped in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(raw, escaped)
    return text


def _e(value: object) -> str:
    """Text for the page: escaped, without terminal control or bidi characters."""
    return html.escape(strip_terminal_controls(str(value)), quote=True)


def _card(value: str, label: str) -> str:
    return f'<div class="card"><div class="value">{_e(value)}</div><div class="label">{_e(label)}</div></div>'


class _Markup(str):
    """A table cell this module built as HTML (from numbers only): not escaped again."""


def _cell(value: object) -> str:
    return value if isinstance(value, _Markup) else _e(value)


def _table(
    headers: list[str],
    cells: list[list[object]],
    numeric: set[int],
    nowrap: frozenset[int] = frozenset(),
) -> str:
    """A table; the columns in `numeric` are right-aligned figures, those in `nowrap` kept on
    one line."""
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    kinds = {**{i: ' class="nw"' for i in nowrap}, **{i: ' class="n"' for i in numeric}}
    body = "".join(
        "<tr>"
        + "".join(f"<td{kinds.get(i, '')}>{_cell(c)}</td>" for i, c in enumerate(row))
        + "</tr>"
        for row in cells
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def sparkline_svg(cluster: Cluster, report: Report) -> _Markup:
    """A cluster's count per week as a small bar chart, drawn here rather than by the script
    so it shows in the table as it is (the policy allows inline SVG: it loads nothing)."""
    counts = cluster.weekly
    if not counts:
        return _Markup("")
    bar, height = 10, 24
    peak = max(counts) or 1
    labels = week_labels(report)
    bars = []
    for n, (week, count) in enumerate(zip(labels, counts, strict=False)):
        if not count:
            continue
        tall = max(round(count / peak * height), 1)
        bars.append(
            f'<rect x="{n * bar + 1}" y="{height - tall}" width="{bar - 2}" height="{tall}">'
            f"<title>{_e(f'{week} 起一周：{count} 次')}</title></rect>"
        )
    width = len(counts) * bar
    summary = "、".join(str(count) for count in counts)
    return _Markup(
        f'<svg class="spark" viewBox="0 0 {width} {height}" preserveAspectRatio="none" '
        f'role="img" aria-label="{_e(f"每周次数：{summary}")}">'
        f'<line x1="0" x2="{width}" y1="{height}" y2="{height}"></line>{"".join(bars)}</svg>'
    )


def _when(moment: datetime, report: Report) -> str:
    return moment.astimezone(report.window.tz).strftime("%Y-%m-%d %H:%M")


def render_html(report: Report) -> str:
    """The whole page as one string."""
    totals = report.totals
    rate = "—" if report.answered_rate is None else f"{report.answered_rate:.1%}"
    cards = "".join(
        (
            _card(str(totals.questions), "提问"),
            _card(rate, f"回答率（已回答 {totals.answered}）"),
            _card(str(totals.users), "提问用户"),
            _card(str(report.unanswered), "未回答（可补充知识库）"),
            _card(f"{totals.helpful} / {totals.unhelpful}", "有帮助 / 没帮助"),
        )
    )
    day_table = _table(
        ["日期", "已回答", "未回答"],
        [[d.day.isoformat(), d.answered, d.unanswered] for d in report.days],
        {1, 2},
    )
    entry_table = _table(
        ["条目", "主题", "次数", "有帮助", "没帮助"],
        [[s.entry_id, s.topic, s.served, s.helpful, s.unhelpful] for s in report.top_entries],
        {2, 3, 4},
    )
    unhelpful_table = _table(
        ["条目", "主题", "没帮助", "有帮助", "次数"],
        [[s.entry_id, s.topic, s.unhelpful, s.helpful, s.served] for s in report.unhelpful_entries],
        {2, 3, 4},
    )
    cluster_table = _table(
        ["#", "问法举例", "次数", "每周（最早 → 最近）", "趋势", "最早", "最近", "最接近的条目"],
        [
            [
                c.number,
                " ／ ".join(c.examples[:5]),
                c.count,
                sparkline_svg(c, report),
                trend_text(c),
                _when(c.first_asked, report),
                _when(c.last_asked, report),
                f"{c.nearest.topic}（{c.nearest.entry_id}，{c.nearest.score:.2f}）"
                if c.nearest
                else "",
            ]
            for c in report.clusters
        ],
        {0, 2},
        nowrap=frozenset({3, 4}),
    )
    notes = [coverage_text(report)]
    if report.clusters:
        notes += [weeks_text(report, width=len(report.weeks)), comparison_text(report)]
    cluster_notes = "".join(f"<p class='muted'>{_e(note)}</p>" for note in notes if note)
    title = f"问答报告：{report.window.describe()}"
    summary = "".join(f"<p class='muted'>{_e(line)}</p>" for line in summary_lines(report)[2:])
    return f"""<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_e(CONTENT_SECURITY_POLICY)}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title>
<style>{_STYLE}</style>
<script>{_SCRIPT}</script>
</head>
<body>
<header>
<h1>江汉区法治政府建设报告问答机器人：问答报告</h1>
<p class="muted">{_e(report.window.describe())}；生成于 {_e(_when(report.generated_at, report))}</p>
</header>
<main>
<div class="cards">{cards}</div>
{summary}
<section>
<h2>每天提问</h2>
<p class="legend"><span><i class="ok"></i>已回答</span><span><i class="no"></i>未回答</span></p>
<figure id="chart-days" class="chart" aria-label="每天提问数，分已回答和未回答"></figure>
<details><summary>数据表</summary>{day_table}</details>
</section>
<section>
<h2>最常用到的条目</h2>
<figure id="chart-entries" class="chart" aria-label="最常用到的条目"></figure>
<details><summary>数据表</summary>{entry_table}</details>
</section>
<section>
<h2>未回答的问题（相近问法已合并）</h2>
<figure id="chart-clusters" class="chart" aria-label="未回答问题的聚类"></figure>
{cluster_notes}
{cluster_table}
<p class="muted">用 <code>kbbot suggest</code> 生成补充知识库的 YAML 片段（序号与上表一致）。</p>
</section>
<section>
<h2>反馈</h2>
<p class="legend"><span><i class="ok"></i>有帮助</span><span><i class="bad"></i>没帮助</span></p>
<figure id="chart-feedback" class="chart" aria-label="各条目的反馈"></figure>
<details><summary>“没帮助”最多的条目</summary>{unhelpful_table}</details>
</section>
</main>
<footer>kbbot · 数据来自问答日志（问题中的电话、身份证号、邮箱已隐去）</footer>
<script type="application/json" id="report-data">{_json_for_script(report_json(report))}</script>
</body>
</html>
"""
