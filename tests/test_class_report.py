"""grader/class_report.py: the batch's report.html, read as text, as a DOM and as pixels.

The page is rendered by a real headless Chromium (Debian's ``chromium``; .ci/run installs
it): ``--dump-dom`` gives the DOM the browser built (so a hostile student string is checked
where it matters, in the parsed page), ``--screenshot`` the pixels (the histogram's bars are
counted in its colour). Without chromium those tests are skipped and say why.
"""

import html.parser
import re
import shutil
import subprocess

import pytest

from grader import class_report, report
from grader.results import (ERROR, FAILED, PASSED, CheckResult, Evidence, GradingResult,
                            PartResult, SubmissionResult, SubmissionStatus)

#: A headless Chromium that does not end within this is stuck, not slow.
CHROMIUM_TIMEOUT = 90
WINDOW = (1200, 1400)

HOSTILE_NAME = '<script>alert("name")</script><img src=x onerror=alert(1)>'
HOSTILE_OUTPUT = '</textarea></pre><script>alert("output")</script><u>underlined</u>'
HOSTILE_LOG = '<iframe src="http://example.com/"></iframe>'


def check(id, part, points, score, status=PASSED, **kwargs):
    return CheckResult(id=id, part=part, title_en="Does it %s?" % id, title_zh="它%s吗?" % id,
                       points=points, score=score, status=status, short_en=id.replace("_", " "),
                       short_zh="检查" + id, duration=0.1, **kwargs)


def graded(student, scores, seconds=2.0, output="", error_check=False, missing=False):
    """A SubmissionResult with three checks scoring ``scores`` (of 40, 30, 30 points)."""
    evidence = Evidence(summary="no reply", sent=["hello"], expected="hello back", got="",
                        stdout_tail=output, hints=["empty-recv"]) if output else None
    checks = [
        check("sends_line", "client", 40, scores[0], PASSED if scores[0] == 40 else FAILED,
              evidence=evidence),
        check("relays", "hub", 30, scores[1], PASSED if scores[1] == 30 else FAILED, parts=[
            PartResult("first", "first reaches", "第一条到达", 20, min(scores[1], 20),
                       PASSED if scores[1] >= 20 else FAILED),
            PartResult("rest", "the rest reach", "其余到达", 10, max(scores[1] - 20, 0),
                       PASSED if scores[1] == 30 else FAILED)]),
        check("room_full", "hub", 30, 0 if error_check else scores[2],
              ERROR if error_check else (PASSED if scores[2] == 30 else FAILED),
              error="the hub peer could not start" if error_check else ""),
    ]
    result = GradingResult("chat_client.py", "chat_server.py", checks, execution_time=seconds,
                           preflight={"missing-file": "chat_server.py"} if missing else {})
    status = SubmissionStatus.GRADER_ERROR if error_check else SubmissionStatus.OK
    return SubmissionResult(student, status, result, seconds)


def a_class():
    """Eleven students: every status, a spread of scores, hostile strings in three places."""
    students = [graded("s%02d" % number, scores, seconds=1.0 + number) for number, scores in
                enumerate([(40, 30, 30), (40, 30, 30), (40, 30, 30), (40, 20, 30), (40, 30, 0),
                           (0, 30, 0), (0, 0, 0)])]
    students.append(graded(HOSTILE_NAME, (0, 20, 0), seconds=3.5, output=HOSTILE_OUTPUT))
    students.append(graded("王小明", (40, 30, 0), seconds=2.5, error_check=True))
    students.append(graded("no-server", (40, 0, 0), seconds=1.5, missing=True))
    students.append(SubmissionResult("hangs", SubmissionStatus.TIMEOUT, None, 180.0,
                                     log=["hangs: grading took over 180 s and was stopped"]))
    students.append(SubmissionResult("broken-zip", SubmissionStatus.UNREADABLE, None, 0.1,
                                     log=["broken-zip: cannot unpack: " + HOSTILE_LOG]))
    return students


# ------------------------------------------------------------------------ as text


def test_every_status_is_counted_and_named_in_both_languages():
    for lang, names in (("en", ["graded: 8", "files missing: 1", "unreadable (no files): 1",
                                "timed out: 1", "grader error: 1"]),
                        ("zh", ["已评分: 8", "缺少文件: 1", "无法读取 (没有文件): 1", "超时: 1",
                                "评分程序出错: 1"])):
        page = class_report.render_html(a_class(), lang)
        for name in names:
            assert name in page, (lang, name)
    assert '<html lang="zh">' in class_report.render_html(a_class(), "zh")


def test_pass_rates_count_full_marks_and_leave_out_checks_that_could_not_run():
    rows = class_report.check_rows([s for s in a_class() if s.checks], "en")
    by_title = {row[1]: row for row in rows}
    # sends_line: 7 of 10 graded have 40/40; relays: 6 full (the 20s are partial).
    assert by_title["sends line"][2:4] == (7, 10)
    assert by_title["relays"][2:4] == (6, 10)
    # room_full could not run for 王小明: counted apart, not as their failure.
    assert by_title["room full"][2:5] == (4, 9, 1)
    assert [row[0] for row in rows] == ["client", "hub", "hub"]


def test_each_student_has_their_whole_report_one_click_away():
    students = a_class()
    page = class_report.render_html(students, "en")
    assert page.count('<details class="student"') == len(students)
    for student in students:
        if student.result is not None:
            text = report.render_text(student.result, lang="en", color=False,
                                      width=class_report.TEXT_WIDTH)
            assert html_escape(text) in page
    # The slowest table links to rows that exist.
    for target in re.findall(r'<a href="#(s\d+)">', page):
        assert 'id="%s"' % target in page
    assert "grading took over 180 s and was stopped" in page


def html_escape(text):
    import html
    return html.escape(text, quote=True)


def test_the_page_is_self_contained():
    # Read as a browser would: no element or attribute that fetches or runs anything.
    tags = Tags()
    tags.feed(class_report.render_html(a_class(), "en"))
    names = {tag for tag, _ in tags.elements}
    assert not names & {"script", "link", "img", "iframe", "object", "embed", "textarea"}
    for tag, attrs in tags.elements:
        assert "src" not in attrs and not any(name.startswith("on") for name in attrs), tag
        assert not attrs.get("href", "#").lower().startswith(("http", "//", "file", "data")), attrs
    style = "".join(tags.styles).lower()
    assert style and "url(" not in style and "@import" not in style


def test_hostile_names_outputs_and_logs_are_text():
    page = class_report.render_html(a_class(), "en")
    assert "&lt;script&gt;alert(&quot;name&quot;)&lt;/script&gt;" in page
    assert "&lt;/textarea&gt;&lt;/pre&gt;&lt;script&gt;" in page
    assert "&lt;iframe src=&quot;http://example.com/&quot;&gt;" in page


def test_an_empty_class_and_a_class_without_results_render():
    assert "No student was graded." in class_report.render_html([], "en")
    page = class_report.render_html([SubmissionResult("x", SubmissionStatus.TIMEOUT)], "zh")
    assert "没有学生被评分。" in page and "超时: 1" in page


def test_write_report_writes_report_html(tmp_path):
    path = class_report.write_report(tmp_path / "out", a_class(), "zh", ["a log line"],
                                     similarity_href="similarity.html")
    assert path == tmp_path / "out" / "report.html"
    page = path.read_text(encoding="utf-8")
    assert "a log line" in page
    assert '<a href="similarity.html">学生代码相似度</a>' in page
    assert "similarity.html" not in class_report.render_html(a_class(), "zh")


# --------------------------------------------------------------- in a real browser


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("no headless Chromium here (apt-get install chromium; .ci/run does)")


def run_chromium(tmp_path, page, *args):
    """Chromium's stdout for ``page`` (a file) with ``args``, in a profile of its own."""
    run = subprocess.run(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         "--user-data-dir=%s" % (tmp_path / "profile"), "--window-size=%d,%d" % WINDOW]
        + list(args) + [page.as_uri()],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=CHROMIUM_TIMEOUT)
    assert run.returncode == 0, run.stderr.decode("utf-8", "replace")[-2000:]
    return run.stdout.decode("utf-8")


class Tags(html.parser.HTMLParser):
    """Every element of a DOM dump, with its attributes, and its text."""

    def __init__(self):
        super().__init__()
        self.elements, self.text, self.styles = [], [], []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    def handle_data(self, data):
        if self.elements and self.elements[-1][0] == "style":
            self.styles.append(data)
        else:
            self.text.append(data)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """(the page's HTML, Chromium's DOM of it, its screenshot as a PIL image)."""
    image_module = pytest.importorskip("PIL.Image")  # Pillow: with copydetect (test extra)
    folder = tmp_path_factory.mktemp("class-report")
    page = class_report.write_report(folder, a_class(), "en")
    dom = run_chromium(folder, page, "--dump-dom")
    shot = folder / "shot.png"
    run_chromium(folder, page, "--screenshot=%s" % shot)
    return page.read_text(encoding="utf-8"), dom, image_module.open(str(shot)).convert("RGB")


@pytest.mark.slow
def test_in_the_browser_the_hostile_strings_make_no_element(rendered):
    _, dom, _ = rendered
    tags = Tags()
    tags.feed(dom)
    names = {tag for tag, _ in tags.elements}
    assert not names & {"script", "img", "iframe", "textarea", "link", "u"}
    assert not any(name.startswith("on") for _, attrs in tags.elements for name in attrs)
    text = "".join(tags.text)
    assert HOSTILE_NAME in text and HOSTILE_OUTPUT in text and HOSTILE_LOG in text
    assert sum(1 for tag, attrs in tags.elements if tag == "details") == len(a_class())


def colour_pixels(image, colour, tolerance=6):
    target = tuple(int(colour[index:index + 2], 16) for index in (1, 3, 5))
    return sum(count for count, pixel in image.getcolors(maxcolors=1 << 24)
               if all(abs(a - b) <= tolerance for a, b in zip(pixel, target)))


@pytest.mark.slow
def test_in_the_browser_the_histogram_and_the_pass_bars_are_drawn(rendered):
    page, _, image = rendered
    assert image.size == WINDOW
    white = colour_pixels(image, "#ffffff", tolerance=0)
    assert white < 0.97 * WINDOW[0] * WINDOW[1], "the screenshot is blank"
    # The bars' area, from the SVG's own geometry: what was drawn must be about that.
    bars = re.findall(r'<rect x="[\d.]+" y="[\d.]+" width="([\d.]+)" height="([\d.]+)" '
                      r'fill="%s"' % class_report.HISTOGRAM_COLOR, page)
    # Totals 0, 20, 30, 40, 70 (twice), 90, 100 (three times): one bar per tenth but the
    # last, two of 70-79, four of 90-100 (a bar's height is its count over the tallest).
    assert sorted(float(height) for _, height in bars) == [35, 35, 35, 35, 70, 140]
    area = sum(float(width) * float(height) for width, height in bars)
    drawn = colour_pixels(image, class_report.HISTOGRAM_COLOR)
    assert 0.8 * area <= drawn <= 1.1 * area, (drawn, area)
    assert colour_pixels(image, class_report.PASS_COLOR) > 500
