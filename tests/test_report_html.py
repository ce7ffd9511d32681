"""The HTML report, checked as a page in a real headless Chromium (Debian's `chromium`).

It must render, draw its charts from its data, and request nothing from the network: a strict
Content-Security-Policy blocks any request (the page counts blocked ones in `data-blocked`),
Chromium runs behind a proxy on a closed local port, and the HTML itself names no URL.
"""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from bot.answering.engine import Engine
from bot.review.html import CONTENT_SECURITY_POLICY, render_html
from bot.review.report import Report, build_report, parse_window
from tests.review_helpers import NOW, asked, seeded_log

HOSTILE = '<img src="http://example.invalid/x.png" onerror="alert(1)"></script>护照怎么办理'
SVG_NAMESPACE = "http://www.w3.org/2000/svg"


@pytest.fixture
async def report(tmp_path: Path, engine: Engine) -> Report:
    records = [
        asked(engine, "2019年收到多少行政复议申请", hours_ago=2),
        asked(engine, "合作的律所有哪些", hours_ago=30),
        asked(engine, "领导出庭", hours_ago=50),
        asked(engine, "护照怎么办理", hours_ago=3),
        asked(engine, "怎么办护照", hours_ago=27),
        asked(engine, HOSTILE, hours_ago=4),
        asked(engine, "明天天气怎么样", hours_ago=75),
    ]
    log = await seeded_log(tmp_path / "log.sqlite3", records)
    try:
        await log.record_feedback(1, helpful=False)
        await log.record_feedback(2, helpful=True)
        return await build_report(log, parse_window(since="7d", now=NOW), engine.matcher)
    finally:
        await log.close()


def _sha256(source: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode()).digest()).decode() + "'"


def test_the_policy_allows_exactly_the_page_s_own_style_and_script(report: Report) -> None:
    page = render_html(report)
    [style] = re.findall(r"<style>(.*?)</style>", page, re.S)
    [script] = re.findall(r"<script>(.*?)</script>", page, re.S)
    assert f"style-src {_sha256(style)}" in CONTENT_SECURITY_POLICY
    assert f"script-src {_sha256(script)}" in CONTENT_SECURITY_POLICY
    assert "default-src 'none'" in CONTENT_SECURITY_POLICY
    assert page.count('http-equiv="Content-Security-Policy"') == 1


def test_the_page_names_no_url_and_escapes_what_people_typed(report: Report) -> None:
    page = render_html(report)
    urls = re.findall(r"https?://[^\s\"'<>]+", page.replace(SVG_NAMESPACE, ""))
    # The only URLs are inside the (escaped) text of the hostile question.
    assert urls and all(url.startswith("http://example.invalid/x.png") for url in urls)
    tags = re.findall(r"<[a-zA-Z][^>]*>", page)
    assert not [tag for tag in tags if re.search(r"\s(src|href|srcset|action)\s*=", tag)]
    assert "url(" not in page and "@import" not in page
    assert "<img" not in page and "</script>护照" not in page
    assert "&lt;img src=&quot;http://example.invalid/x.png&quot;" in page  # the cluster table
    assert "\\u003cimg src=" in page  # the JSON block


def test_each_cluster_has_its_weeks_drawn_in_the_table(report: Report) -> None:
    page = render_html(report)
    sparklines = re.findall(r'<svg class="spark"[^>]*>.*?</svg>', page, re.S)
    assert len(sparklines) == len(report.clusters) > 0
    for cluster, svg in zip(report.clusters, sparklines, strict=True):
        assert svg.count("<rect") == sum(1 for count in cluster.weekly if count)
        assert f"每周次数：{'、'.join(map(str, cluster.weekly))}" in svg
    assert "趋势与之前同样长的时段" in page and "新出现" in page
    assert " style=" not in page  # the policy allows no inline style: classes only


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _render_in_chromium(page: Path, tmp_path: Path) -> str:
    """The DOM after the page's scripts ran, as Chromium dumps it."""
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        pytest.skip("no chromium binary (CI installs Debian's chromium in .ci/run)")
    profile = tmp_path / "chromium-profile"
    profile.mkdir(exist_ok=True)
    done = subprocess.run(
        [
            binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            f"--user-data-dir={profile}",
            # Any request that slipped past the policy would go to a port nobody listens on.
            f"--proxy-server=127.0.0.1:{_closed_port()}",
            "--virtual-time-budget=5000",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _attribute(dom: str, element_id: str, name: str) -> str | None:
    tag = re.search(rf"<[^>]*\bid=\"{element_id}\"[^>]*>", dom)
    assert tag is not None, f"no #{element_id} in the rendered page"
    value = re.search(rf'\b{name}="([^"]*)"', tag.group(0))
    return value.group(1) if value else None


def test_the_page_renders_its_charts_in_chromium_without_the_network(
    report: Report, tmp_path: Path
) -> None:
    page = tmp_path / "report.html"
    page.write_text(render_html(report), encoding="utf-8")
    dom = _render_in_chromium(page, tmp_path)

    root = re.search(r"<html[^>]*>", dom)
    assert root is not None
    assert 'data-rendered="ok"' in root.group(0)
    assert "data-blocked" not in root.group(0)  # nothing tried to load anything

    days = report.days
    bars = sum(bool(d.answered) + bool(d.unanswered) for d in days)
    assert _attribute(dom, "chart-days", "data-points") == str(bars) and bars > 0
    assert _attribute(dom, "chart-entries", "data-points") == str(len(report.top_entries))
    assert _attribute(dom, "chart-clusters", "data-points") == str(len(report.clusters))
    assert int(_attribute(dom, "chart-feedback", "data-points") or 0) >= 2
    assert dom.count("<rect") >= bars + len(report.top_entries) + len(report.clusters)
    assert "<img" not in dom  # the hostile question stayed text
    assert "护照怎么办理" in dom and "行政复议申请数量" in dom


def test_the_policy_really_blocks_requests_in_chromium(report: Report, tmp_path: Path) -> None:
    """The check above means something: a page with a remote image reports it blocked."""
    page = tmp_path / "tampered.html"
    html = render_html(report).replace(
        "<main>", '<main><img alt="" src="http://127.0.0.1:9/tracker.png">', 1
    )
    page.write_text(html, encoding="utf-8")
    dom = _render_in_chromium(page, tmp_path)
    root = re.search(r"<html[^>]*>", dom)
    assert root is not None and 'data-blocked="1"' in root.group(0)
