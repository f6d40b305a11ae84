"""The comparison report: files, self-containment, determinism, and a headless browser check."""

import base64
import json
import math
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from experiments.report import write_report

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class _PageScan(HTMLParser):
    """Collects tags, URL-bearing attributes and the text of the element with id="verdict"."""

    def __init__(self):
        super().__init__()
        self.tags, self.urls, self.verdict, self._in_verdict = [], [], "", False

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href", "srcset", "action", "poster", "data"):
                self.urls.append(value or "")
            if name == "id" and value == "verdict":
                self._in_verdict = True

    def handle_endtag(self, tag):
        self._in_verdict = False

    def handle_data(self, data):
        if self._in_verdict:
            self.verdict += data


def scan(html: str) -> _PageScan:
    page = _PageScan()
    page.feed(html)
    return page


@pytest.fixture
def report_dir(tmp_path, fake_comparison) -> Path:
    write_report(fake_comparison, tmp_path / "report")
    return tmp_path / "report"


def test_writes_html_markdown_scorecard_and_figures(tmp_path, fake_comparison):
    written = write_report(fake_comparison, tmp_path / "out")
    assert written["html"] == tmp_path / "out" / "report.html"
    assert written["markdown"] == tmp_path / "out" / "report.md"
    assert written["scorecard"] == tmp_path / "out" / "scorecard.json"
    figures = sorted(p.name for p in (tmp_path / "out" / "figures").iterdir())
    assert "timeseries_harm_exposure.png" in figures and "mod_workload.png" in figures
    # the daily series, time to removal twice (weekly median, survival curve), moderator workload
    assert len(figures) == len(fake_comparison["timeseries"]) + 2 + 1
    assert {"timeseries_time_to_removal_weekly.png", "timeseries_removal_survival.png"} <= set(figures)
    for path in written.values():
        assert path.read_bytes()
    leftovers = [p for p in (tmp_path / "out").rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == []  # atomic writes leave no temp files


def test_html_is_self_contained(report_dir):
    html = (report_dir / "report.html").read_text()
    page = scan(html)
    assert "script" not in page.tags and "link" not in page.tags and "iframe" not in page.tags
    assert page.urls, "expected the figures as <img src=...>"
    assert all(url.startswith("data:image/png;base64,") for url in page.urls)
    assert not re.search(r"url\(|@import", html)  # nothing fetched from CSS either
    assert page.tags.count("img") == len(page.urls) == 8  # 5 daily + 2 time to removal + moderator workload
    for url in page.urls:
        assert base64.b64decode(url.split(",", 1)[1]).startswith(PNG_SIGNATURE)


def test_sections_appear_in_review_order(report_dir, fake_comparison):
    html = (report_dir / "report.html").read_text()
    markers = ["<h1>Preflight report: moderator_strike", 'id="verdict"', 'id="findings"',
               fake_comparison["hypothesis"][:20], 'id="finding-evidence"', 'id="finding-verdict"', "Largest harms",
               'id="scorecard"', 'id="metrics"', 'id="timeseries"', 'id="fairness"', 'id="mod-workload"',
               'id="config-diff"', 'id="provenance"']
    positions = [html.index(marker) for marker in markers]
    assert positions == sorted(positions)
    assert scan(html).verdict.strip() == "Verdict: FAIL"


def test_scorecard_and_metrics_show_verdicts_and_colour_by_direction(report_dir):
    html = (report_dir / "report.html").read_text()
    assert html.count('class="verdict fail"') == 2
    assert html.count('class="verdict pass"') == 2
    assert html.count('class="verdict inconclusive"') == 1
    assert "harm_exposure must not rise by more than 5%" in html
    # harm up is worse (lower_is_better); time to first answer down is better; newcomer closures
    # down during a strike, while close voters stop closing, are context, not a benefit
    assert re.search(r'<tr class="worse">\s*<td class="name" title="[^"]*">harm_exposure</td>', html)
    assert re.search(r'<tr class="context">\s*<td class="name" title="[^"]*">newcomer_closed_share</td>', html)
    assert re.search(r'title="improved only as the defences did less work \(closure_rate fell \d+%\)',
                     html)
    assert re.search(r'<tr class="">\s*<td class="name" title="[^"]*">closure_rate</td>', html)  # neutral: no colour


def test_values_are_escaped_and_nan_shows_as_na(report_dir):
    html = (report_dir / "report.html").read_text()
    assert "&lt;i&gt;escaped&lt;/i&gt;" in html and "<i>escaped</i>" not in html
    assert "[n/a]" in html  # appeals_upheld has a NaN CI end
    assert not re.search(r"\bnan\b|\bNone\b", html, flags=re.IGNORECASE)


def test_same_comparison_gives_byte_identical_files(tmp_path, fake_comparison):
    first = write_report(fake_comparison, tmp_path / "a")
    second = write_report(fake_comparison, tmp_path / "b")
    assert first.keys() == second.keys()
    for key in first:
        assert first[key].read_bytes() == second[key].read_bytes(), key


def test_missing_optional_sections_render_as_not_available(tmp_path, fake_comparison):
    for section in ("timeseries", "removal_survival", "fairness", "mod_workload", "config_diff"):
        del fake_comparison[section]
    fake_comparison["metrics"]["harm_exposure"]["scenario_mean"] = math.nan
    written = write_report(fake_comparison, tmp_path / "out")
    html = written["html"].read_text()
    for text in ("Time series not available", "Fairness breakdown not available", "Config diff not available"):
        assert text in html
    assert 'id="mod-workload"' in html and "Not available." in html
    assert "<img" not in html
    assert "n/a" in html
    assert "not available" in written["markdown"].read_text()


def test_the_top_says_in_plain_words_what_was_found(report_dir):
    """Item 11 of issue 11: hypothesis outcome, the deciding guardrails, the largest changes."""
    markdown = (report_dir / "report.md").read_text()
    top = markdown.split("## Scorecard")[0]
    assert "The evidence supports the hypothesis (harm exposure should increase): harm exposure rises" in top
    assert "**Verdict FAIL: 2 guardrails of 5 violated — “Harm exposure” (harm_exposure must not rise by more than 5%)" in top
    assert "- flag queue backlog rises 4.7× (95% CI 4.2× to 5.5×)" in top
    assert "**Context, not a benefit**" in top and "- newcomer closed share falls" in top
    scorecard = json.loads((report_dir / "scorecard.json").read_text())
    assert scorecard["findings"]["harms"][0].startswith("flag queue backlog rises")


def test_scorecard_json_is_strict_json_with_exit_code(report_dir, fake_comparison):
    text = (report_dir / "scorecard.json").read_text()
    scorecard = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))
    assert scorecard["verdict"] == "FAIL" and scorecard["exit_code"] == 1
    assert [g["verdict"] for g in scorecard["guardrails"]] == [g["verdict"] for g in fake_comparison["guardrails"]]
    assert scorecard["seeds"] == fake_comparison["seeds"]


def test_markdown_has_scorecard_and_links_existing_figures(report_dir):
    markdown = (report_dir / "report.md").read_text()
    assert markdown.startswith("# Preflight report: moderator_strike")
    assert "**Verdict: FAIL**" in markdown
    assert "| Harm exposure | harm_exposure must not rise by more than 5% |" in markdown
    for link in re.findall(r"\]\((figures/[^)]+\.png)\)", markdown):
        assert (report_dir / link).is_file()
    assert "figures/mod_workload.png" in markdown


# --- headless browser --------------------------------------------------------------------------

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--enable-logging=stderr", "--v=0",
]


def chromium_binary() -> str:
    """Path of Chromium: $PREFLIGHT_CHROMIUM, else chromium/chromium-browser on PATH, else /usr/bin/chromium.

    Skips the test when none is found, unless $CI is set: in CI a missing browser is a failure
    (run .ci/install_chromium.sh first).
    """
    candidates = [os.environ.get("PREFLIGHT_CHROMIUM"), shutil.which("chromium"),
                  shutil.which("chromium-browser"), "/usr/bin/chromium"]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    if os.environ.get("CI"):
        pytest.fail("Chromium not found but CI is set; run .ci/install_chromium.sh")
    pytest.skip("Chromium not installed (run .ci/install_chromium.sh)")


def run_chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / "chromium-profile"
    profile.mkdir(exist_ok=True)
    return subprocess.run(
        [chromium_binary(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=120, check=False,
    )


def console_messages(stderr: str) -> list[str]:
    """Page console lines; with --enable-logging=stderr Chromium prints them as ``INFO:CONSOLE...``
    whatever their level, and uncaught exceptions as ``"Uncaught ..."``. The report has no
    script, so any such line is a problem."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]


def test_chromium_renders_the_verdict_without_console_errors(tmp_path, report_dir):
    url = (report_dir / "report.html").resolve().as_uri()
    result = run_chromium(tmp_path, "--dump-dom", url)
    assert result.returncode == 0, result.stderr[-2000:]
    page = scan(result.stdout)
    assert page.verdict.strip() == "Verdict: FAIL"
    assert page.tags.count("img") == 8
    assert console_messages(result.stderr) == []


def test_console_check_would_catch_a_script_error(tmp_path):
    broken = tmp_path / "broken.html"
    broken.write_text("<html><body><script>undefinedFunction();</script></body></html>")
    result = run_chromium(tmp_path, "--dump-dom", broken.as_uri())
    assert any("Uncaught ReferenceError" in line for line in console_messages(result.stderr))


def test_chromium_screenshot_is_a_full_page(tmp_path, report_dir):
    shot = tmp_path / "report.png"
    url = (report_dir / "report.html").resolve().as_uri()
    result = run_chromium(tmp_path, "--hide-scrollbars", f"--screenshot={shot}", "--window-size=1280,3000", url)
    assert result.returncode == 0, result.stderr[-2000:]
    from matplotlib.image import imread

    pixels = imread(shot)
    assert pixels.shape[:2] == (3000, 1280)
    assert pixels[..., :3].std() > 0.05  # not a blank page


def test_fixture_names_exist_in_the_simulator(fake_comparison):
    """The report is tested on names the simulator really produces: metrics from the registry,
    daily series the recorder writes, and lever parameters the lever registry declares."""
    import scenarios.levers  # noqa: F401  (registers the levers)
    from scenarios.lever import LEVERS
    from sim.metric_registry import GROUPED, REGISTRY
    from sim.metrics import DAILY

    for section in ("metrics", "mod_workload"):
        unknown = set(fake_comparison[section]) - set(REGISTRY)
        assert not unknown, f"{section}: {unknown}"
    assert set(fake_comparison["fairness"]) <= set(GROUPED)
    assert set(fake_comparison["timeseries"]) <= set(DAILY)
    for rail in fake_comparison["guardrails"]:
        assert rail["metric"] in REGISTRY, rail["metric"]
    for diff in fake_comparison["config_diff"]:
        parts = diff["key"].split(".")
        if parts[:2] == ["scenario", "levers"]:
            assert parts[2] in LEVERS and parts[3] in LEVERS[parts[2]].params, diff["key"]


def test_metrics_are_grouped_by_family_with_units_and_definitions(report_dir):
    from sim.metric_registry import REGISTRY

    html = (report_dir / "report.html").read_text()
    for family in ("harm_exposure", "time_to_removal", "newcomer_experience", "community_health"):
        assert f'<h3 id="family-{family}">' in html
    # the definition shows on hover, and the unit beside the name
    definition = REGISTRY["harm_exposure"].definition.replace("(", r"\(").replace(")", r"\)")
    assert re.search(rf'<td class="name" title="{definition}">harm_exposure</td>\s*<td class="unit">views</td>', html)
    md = (report_dir / "report.md").read_text()
    assert "### harm_exposure" in md and "### community_health" in md
    # families appear in the design's order
    assert html.index('id="family-harm_exposure"') < html.index('id="family-community_health"')
