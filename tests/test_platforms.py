"""The platforms' outputs, written in memory from fake GradingResults and checked against
each platform's documented fields: Gradescope (grader/gradescope.py, its rate limit and the
checks' visibility), PrairieLearn (grader/prairielearn.py and the question's info.json),
GitHub Classroom (grader/github_classroom.py and the workflow template), Autolab
(grader/autolab.py). Each test's docstring cites the page it checks against. The runs of
each platform's entry point on a real submission are in tests/test_platforms_e2e.py."""

import base64
import json
from pathlib import Path

import pytest

from grader import autolab, bundle, github_classroom, gradescope, prairielearn, results
from grader.commands import held_back_files, prairielearn_info
from grader.results import (AFTER_DUE_DATE, ERROR, FAILED, HIDDEN, PASSED, VISIBILITIES,
                            VISIBLE, CheckResult, Evidence, GradingResult, PartResult,
                            parse_visibility_overrides, visibility_of)

ROOT = Path(__file__).resolve().parent.parent

GRADESCOPE_SPECS = "https://gradescope-autograders.readthedocs.io/en/latest/specs/"
GRADESCOPE_METADATA = "https://gradescope-autograders.readthedocs.io/en/latest/submission_metadata/"
PRAIRIELEARN = "https://prairielearn.readthedocs.io/en/latest/externalGrading/"

#: Gradescope's results.json fields (GRADESCOPE_SPECS, "Output format"), and the values
#: its "Output String Formatting" and "Controlling Test Case Visibility" allow.
GS_TOP = {"score", "max_score", "execution_time", "output", "output_format",
          "test_output_format", "test_name_format", "visibility", "stdout_visibility",
          "extra_data", "tests", "leaderboard"}
GS_TEST = {"score", "max_score", "status", "name", "name_format", "number", "output",
           "output_format", "tags", "visibility", "extra_data"}
GS_FORMATS = {"text", "html", "simple_format", "md", "ansi"}
GS_VISIBILITIES = {"hidden", "after_due_date", "after_published", "visible"}


def check(id, part, points, status=PASSED, hints=(), cause="", visibility=VISIBLE, **kwargs):
    evidence = None
    if status == FAILED:
        evidence = Evidence(summary="%s went wrong" % id, expected="hello", got="hel",
                            stdout_tail="line\n" * 3, hints=list(hints), cause=cause)
    return CheckResult(id=id, part=part, title_en="Does %s work?" % id,
                       title_zh="%s 可以吗?" % id, points=points,
                       score=kwargs.pop("score", points if status == PASSED else 0.0),
                       status=status, evidence=evidence, visibility=visibility, **kwargs)


def a_class_result():
    """Passed, failed with hints and a note, parts, a grader error, a held-back failure."""
    parts = [PartResult("closes", "closes", "关闭", 3, 3, PASSED),
             PartResult("ends", "ends", "结束", 2, 0, FAILED, "it kept running")]
    return GradingResult(
        client_path="s/chat_client.py", server_path="s/chat_server.py", execution_time=7.4,
        checks=[
            check("client_sends", "client", 7),
            check("client_split", "client", 3, FAILED, hints=["split-character", "crash"],
                  notes=["close-wakes-recv"]),
            check("p2p_q_ends", "p2p", 5, FAILED, hints=["no-exit"], score=3.0, parts=parts),
            check("p2p_broken", "p2p", 4, ERROR, error="the echo peer could not start"),
            check("hub_room_full", "hub", 2, FAILED, hints=["listen-backlog"],
                  visibility=AFTER_DUE_DATE),
        ])


# ------------------------------------------------------------------------- Gradescope


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_gradescope_results_have_only_documented_fields_with_their_values(lang):
    """Gradescope's autograder specifications, "Output format", "Output String Formatting"
    and "Controlling Test Case Visibility" (GRADESCOPE_SPECS): every field is one of the
    documented ones, formats and visibilities are documented values, a test's status is
    passed or failed, and each test has tags (part, then hint and note ids) and extra_data
    whose ``check`` is the check's id."""
    result = a_class_result()
    data = gradescope.to_gradescope(result, lang)
    assert set(data) <= GS_TOP and {"score", "output", "tests"} <= set(data)
    for name in ("output_format", "test_output_format", "test_name_format"):
        assert data[name] in GS_FORMATS and data[name] == "text"
    assert data["visibility"] in GS_VISIBILITIES and data["stdout_visibility"] in GS_VISIBILITIES
    assert len(data["tests"]) == len(result.checks)
    for test, one in zip(data["tests"], result.checks):
        assert set(test) <= GS_TEST
        assert test["status"] in ("passed", "failed")
        assert test["output_format"] == "text"
        assert test["visibility"] == one.visibility in GS_VISIBILITIES
        assert test["extra_data"]["check"] == one.id
        assert test["extra_data"]["status"] == one.status
        hints = one.evidence.hints if one.evidence else []
        assert test["tags"] == [one.part] + hints + one.notes
        assert all(isinstance(tag, str) for tag in test["tags"])
    json.dumps(data)
    by_check = {test["extra_data"]["check"]: test for test in data["tests"]}
    assert by_check["client_split"]["tags"] == ["client", "split-character", "crash",
                                                "close-wakes-recv"]
    assert by_check["p2p_q_ends"]["extra_data"]["parts"] == [
        {"id": "closes", "status": "passed", "score": 3.0, "points": 3.0},
        {"id": "ends", "status": "failed", "score": 0.0, "points": 2.0}]
    assert by_check["hub_room_full"]["visibility"] == "after_due_date"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_gradescope_text_is_plain_text_as_its_format_says(lang):
    """GRADESCOPE_SPECS, "Output String Formatting": "text" is shown as it is, so the texts
    must hold no ANSI escape (which only "ansi" renders) and keep their layout in spaces and
    newlines: the report's tables are aligned with spaces."""
    data = gradescope.to_gradescope(a_class_result(), lang)
    texts = [data["output"]] + [test["output"] for test in data["tests"]] + [
        test["name"] for test in data["tests"]]
    assert not any("\x1b" in text or "\r" in text for text in texts)
    assert any("\n" in test["output"] for test in data["tests"])


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_what_students_see_at_once_gives_no_held_back_check_away(lang):
    """GRADESCOPE_SPECS, "Controlling Test Case Visibility": a test's visibility decides
    when students see it; the top-level output (visible) must then not count it nor name
    it: its total is the visible checks', and it says how many points are held back."""
    result = a_class_result()
    data = gradescope.to_gradescope(result, lang)
    summary = data["output"]
    assert "10/19" in summary  # visible: 7 + 3 + 5 + 4 points, 7 + 3 scored
    assert "1.2, 2.1, 2.2" in summary and "3.1" not in summary  # 3.1: the held-back check
    assert gradescope.TEXTS[lang]["held_back"].format(count=1, points="2") in summary
    assert data["score"] == result.score and data["max_score"] == result.max_score


def test_a_visible_check_never_points_to_a_held_back_one_for_its_cause():
    """Two checks failing for one cause share their evidence (the first carries it): when
    the first is held back, the visible one carries its own."""
    cause = "server: unfinished-todo 1"
    result = GradingResult(checks=[
        check("hub_a", "hub", 3, FAILED, hints=["unfinished-todo"], cause=cause,
              visibility=HIDDEN),
        check("hub_b", "hub", 3, FAILED, hints=["unfinished-todo"], cause=cause)])
    tests = gradescope.to_gradescope(result, "en")["tests"]
    assert "hub_b went wrong" in tests[1]["output"]
    assert "3.1" not in tests[1]["output"]


def test_the_grader_error_tag_and_scores_are_as_before():
    data = gradescope.to_gradescope(a_class_result(), "en")
    broken = [test for test in data["tests"] if test["extra_data"]["status"] == ERROR]
    assert len(broken) == 1 and broken[0]["output"].startswith(gradescope.GRADER_ERROR_TAG)
    assert broken[0]["status"] == "failed"


# ----------------------------------------------------------------- one visibility setting


def test_a_checks_visibility_is_its_markers_unless_overridden():
    assert visibility_of("hub_room_full", None, {}) == VISIBLE
    assert visibility_of("hub_room_full", "hidden", {}) == HIDDEN
    assert visibility_of("hub_room_full", "hidden", {"hub_room_full": "visible"}) == VISIBLE
    assert visibility_of("hub_room_full", None, {"other": "hidden"}) == VISIBLE
    with pytest.raises(ValueError, match="invalid visibility 'secret' from the check marker"):
        visibility_of("hub_room_full", "secret", {})


def test_visibility_options_parse_and_name_what_is_wrong():
    assert parse_visibility_overrides(["hub_room_full=after_due_date",
                                       "check_client_chinese = hidden"]) == {
        "hub_room_full": "after_due_date", "client_chinese": "hidden"}
    for bad, said in (("hub_room_full", "CHECK=VISIBILITY"), ("=hidden", "CHECK=VISIBILITY"),
                      ("hub_room_full=soon", "invalid visibility 'soon'")):
        with pytest.raises(ValueError, match=said):
            parse_visibility_overrides([bad])
    assert set(VISIBILITIES) == GS_VISIBILITIES


def test_the_bundles_options_round_trip_and_a_broken_file_is_an_error(tmp_path):
    path = tmp_path / "bundle_options.json"
    path.write_text(bundle.render({"hub_room_full": "hidden"}, (3, 24.0)), encoding="utf-8")
    assert bundle.visibility_overrides(path) == {"hub_room_full": "hidden"}
    assert bundle.rate_limit(path) == (3, 24.0)
    assert bundle.read_options(tmp_path / "absent.json") == {}
    for text in ("{", "[]", '{"visibility": {"x": "soon"}}',
                 '{"rate_limit": {"submissions": 0, "hours": 1}}'):
        path.write_text(text, encoding="utf-8")
        with pytest.raises(ValueError, match="bundle_options.json"):
            bundle.read_options(path)


def test_the_checkout_has_no_bundle_options_so_markers_decide():
    assert not bundle.options_file().exists()


def test_a_check_held_back_alone_in_its_file_leaves_the_file_out_of_the_kit():
    catalog = [{"id": "a", "file": "/x/check_hub.py", "visibility": VISIBLE},
               {"id": "b", "file": "/x/check_hub.py", "visibility": VISIBLE},
               {"id": "c", "file": "/x/check_hub_c.py", "visibility": AFTER_DUE_DATE}]
    assert held_back_files(catalog) == {Path("/x/check_hub_c.py").resolve()}
    catalog[1]["visibility"] = HIDDEN
    with pytest.raises(ValueError, match="b is held back but shares check_hub.py with "
                                         "visible checks \\(a\\)"):
        held_back_files(catalog)


# --------------------------------------------------------------------------- rate limit


def metadata(created, *previous):
    """submission_metadata.json as GRADESCOPE_METADATA shows it: ``previous`` are
    (time, score, rate_limited) of earlier submissions."""
    return {"id": 7, "created_at": created, "assignment": {"title": "socket lab"},
            "users": [{"email": "s@example.com", "id": 1, "name": "S"}],
            "previous_submissions": [
                {"submission_time": when, "score": score,
                 "results": {"score": score, "output": "graded at %s" % when, "tests": [],
                             "extra_data": {"rate_limited": True} if limited else {}}}
                for when, score, limited in previous]}


def test_under_the_limit_a_submission_is_graded():
    """GRADESCOPE_METADATA, "Rate limiting schemes": count the previous submissions within
    the window before this one's created_at; below the limit, grade it."""
    data = metadata("2026-12-02T10:00:00.000000-08:00",
                    ("2026-12-02T09:00:00.000000-08:00", 10.0, False),
                    ("2026-12-01T09:00:00.000000-08:00", 5.0, False))  # 25 h before
    assert gradescope.rate_limited(data, 2, 24, "en") is None


def test_over_the_limit_the_last_graded_results_come_back_with_a_message():
    """GRADESCOPE_METADATA, "Rate limiting schemes": over the limit, the results are the
    previous submission's with a message on top, so the student keeps their last score.
    Times come from the metadata (created_at), never the clock."""
    data = metadata("2026-12-02T10:00:00.000000-08:00",
                    ("2026-12-02T08:00:00.000000-08:00", 10.0, False),
                    ("2026-12-02T09:00:00.000000-08:00", 30.0, False))
    limited = gradescope.rate_limited(data, 2, 24, "en")
    assert limited["score"] == 30.0
    assert limited["output"].startswith("Submission limit: at most 2 graded submissions every 24")
    assert limited["output"].endswith("graded at 2026-12-02T09:00:00.000000-08:00")
    assert "2026-12-03T08:00:00-08:00" in limited["output"]  # when the first leaves the window
    assert limited["extra_data"]["rate_limited"] is True
    json.dumps(limited)


def test_submissions_stopped_by_the_limit_do_not_use_it_up():
    data = metadata("2026-12-02T10:00:00.000000-08:00",
                    ("2026-12-02T08:00:00.000000-08:00", 10.0, False),
                    ("2026-12-02T09:00:00.000000-08:00", 10.0, True),
                    ("2026-12-02T09:30:00.000000-08:00", 10.0, True))
    assert gradescope.rate_limited(data, 2, 24, "en") is None


def test_metadata_without_times_is_a_clear_error():
    with pytest.raises(ValueError, match="created_at"):
        gradescope.rate_limited({"previous_submissions": []}, 1, 24)
    with pytest.raises(ValueError, match="a time cannot be read"):
        gradescope.rate_limited({"created_at": "yesterday", "previous_submissions": []}, 1, 24)


# ------------------------------------------------------------------------ PrairieLearn

PL_TOP = {"gradable", "score", "message", "output", "images", "tests", "format_errors"}
PL_TEST = {"name", "description", "points", "max_points", "message", "output", "images"}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_prairielearn_results_have_the_documented_fields(lang):
    """PrairieLearn's "External Grading", section "Grading results" (PRAIRIELEARN): score
    a float in [0.0, 1.0]; gradable; message; output; tests[] with name, description,
    points, max_points, message, output, as <pl-external-grader-results> renders them."""
    result = GradingResult(checks=[check("client_sends", "client", 7),
                                   check("client_split", "client", 3, FAILED, hints=["crash"]),
                                   check("hub_room_full", "hub", 2, FAILED, visibility=HIDDEN)])
    data = prairielearn.to_prairielearn(result, lang)
    assert set(data) <= PL_TOP and data["gradable"] is True
    assert isinstance(data["score"], float) and 0.0 <= data["score"] <= 1.0
    assert data["score"] == round(7 / 12, 4)
    assert isinstance(data["message"], str) and isinstance(data["output"], str)
    assert [test["max_points"] for test in data["tests"]] == [7, 3, 2]
    assert [test["points"] for test in data["tests"]] == [7, 0, 0]
    for test in data["tests"]:
        assert set(test) <= PL_TEST and all(isinstance(test[key], str) for key in
                                            ("name", "description", "message", "output"))
    assert "client_split went wrong" in data["tests"][1]["message"]
    assert data["tests"][2]["output"] == prairielearn.TEXTS[lang]["held_back"]
    assert "hub_room_full went wrong" not in json.dumps(data["tests"][2], ensure_ascii=False)


@pytest.mark.parametrize("problem", ["syntax-error", "file-not-utf8"])
def test_a_file_that_does_not_parse_is_not_gradable(problem):
    """PRAIRIELEARN, "Grading results": "gradable": false for input "formatted incorrectly,
    for example if it has a syntax error", with the reasons in format_errors (a string or
    an array of strings); the score is then unneeded."""
    result = GradingResult(preflight={problem: "chat_client.py, line 3: expected ':'"},
                           checks=[check("client_sends", "client", 7, FAILED)])
    data = prairielearn.to_prairielearn(result, "en")
    assert data["gradable"] is False and "score" not in data
    assert data["format_errors"] == ["%s: chat_client.py, line 3: expected ':'" % problem]


def test_a_missing_file_is_graded_and_a_grader_error_is_not():
    missing = GradingResult(preflight={"missing-file": "s/chat_server.py"},
                            checks=[check("p2p_a", "p2p", 5, FAILED)])
    assert prairielearn.to_prairielearn(missing)["gradable"] is True
    broken = GradingResult(checks=[check("p2p_a", "p2p", 5, ERROR, error="peer failed")])
    data = prairielearn.to_prairielearn(broken)
    assert data["gradable"] is False and "GRADER ERROR" in data["format_errors"][0]


@pytest.mark.slow
def test_a_flood_of_output_stays_within_one_megabyte():
    """PRAIRIELEARN, "Grading results": the file "should be limited to 1 MB"; a flood of
    output is cut (its end kept), not the file."""
    flood = "spam " * 6000 + "THE END"  # 30 kB, twice in each of 19 checks and the report
    checks = []
    for number in range(19):
        one = check("check_%d" % number, "hub", 5, FAILED, hints=["crash"])
        one.evidence.stdout_tail = one.evidence.got = flood
        checks.append(one)
    result = GradingResult(checks=checks)
    assert len(json.dumps(prairielearn.to_prairielearn(result, "zh"))) > 2 * prairielearn.SIZE_LIMIT
    text = prairielearn.render_json(result, "zh")
    assert len(text.encode("utf-8")) <= prairielearn.SIZE_LIMIT
    data = json.loads(text)
    assert data["gradable"] is True and len(data["tests"]) == 19
    assert "THE END" in data["tests"][0]["output"] and "THE END" in data["output"]


def test_the_questions_info_json_has_the_documented_external_grading_options():
    """PRAIRIELEARN, "Configuring and enabling external grader support": info.json's
    externalGradingOptions has enabled, image, entrypoint, serverFilesCourse, timeout (at
    most 600 s); the entrypoint is under /grade/serverFilesCourse, where the listed
    serverFilesCourse folders are copied; gradingMethod is External."""
    info = prairielearn_info("6e4c30d8-6a52-4a5b-9d67-3b8a8d2e5f11", "prairielearn/grader-python", 180)
    options = info["externalGradingOptions"]
    assert info["gradingMethod"] == "External" and info["type"] == "v3"
    assert set(options) == {"enabled", "image", "entrypoint", "serverFilesCourse", "timeout"}
    assert options["enabled"] is True and 0 < options["timeout"] <= 600
    folder = options["serverFilesCourse"][0]
    assert options["entrypoint"].startswith("/grade/serverFilesCourse/" + folder)


# -------------------------------------------------------------------- GitHub Classroom


def test_github_classroom_runner_result_has_the_reporters_fields():
    """classroom-resources/autograding-grading-reporter (README, src/main.js,
    src/helpers/test-helpers.js) and the runners it reads (autograding-command-grader):
    version 1, status pass/fail/error (the reporter fails the job on fail or error),
    max_score, tests[] with name, status, score (the reporter adds them up), message,
    test_code, filename, line_no, duration."""
    result = a_class_result()
    runner = github_classroom.to_runner(result, "en")
    assert runner["version"] == 1 and runner["status"] == "error"
    assert runner["max_score"] == result.max_score
    assert sum(test["score"] for test in runner["tests"]) == result.score
    for test in runner["tests"]:
        assert set(test) == {"name", "status", "score", "message", "test_code", "filename",
                             "line_no", "duration"}
        assert test["status"] in ("pass", "fail", "error")
    assert [test["status"] for test in runner["tests"]] == ["pass", "fail", "fail", "error", "fail"]
    assert runner["tests"][3]["message"].startswith("GRADER ERROR")
    clean = GradingResult(checks=[check("client_sends", "client", 7)])
    assert github_classroom.to_runner(clean)["status"] == "pass"
    clean.checks.append(check("client_split", "client", 3, FAILED))
    assert github_classroom.to_runner(clean)["status"] == "fail"


def test_the_result_is_appended_to_github_output_as_one_base64_line(tmp_path):
    """GitHub Actions' step outputs: ``name=value`` lines appended to the file
    $GITHUB_OUTPUT names; the reporter base64-decodes the value (src/main.js)."""
    output = tmp_path / "github_output"
    output.write_text("earlier=1\n", encoding="utf-8")
    result = a_class_result()
    github_classroom.append_output(output, result, "zh")
    lines = output.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "earlier=1" and len(lines) == 2
    name, _, value = lines[1].partition("=")
    assert name == "result"
    assert json.loads(base64.b64decode(value).decode("utf-8")) == github_classroom.to_runner(result, "zh")


def test_the_workflow_template_is_what_the_reporter_requires():
    """The reporter's README, "Usage": the workflow is named "Autograding Tests", has one
    job named run-autograding-tests, and each runner's result reaches the reporter as
    <RUNNER ID IN CAPITALS>_RESULTS, the ids listed in its runners input. The template is
    a file of the package, not a workflow of this repository."""
    yaml = pytest.importorskip("yaml", reason="PyYAML is not installed")
    path = ROOT / "grader" / "templates" / "github-classroom.yml"
    workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert workflow["name"] == "Autograding Tests"
    assert list(workflow["jobs"]) == ["run-autograding-tests"]
    steps = workflow["jobs"]["run-autograding-tests"]["steps"]
    grader = [step for step in steps if "--github-classroom" in step.get("run", "")]
    assert len(grader) == 1
    reporter = [step for step in steps
                if step.get("uses", "").startswith("classroom-resources/autograding-grading-reporter@")]
    assert len(reporter) == 1
    runner = grader[0]["id"]
    assert reporter[0]["with"]["runners"] == runner
    assert reporter[0]["env"] == {runner.upper() + "_RESULTS":
                                  "${{ steps.%s.outputs.result }}" % runner}
    assert not (ROOT / ".github" / "workflows" / path.name).exists()


# ------------------------------------------------------------------------------ Autolab


def test_autolab_autoresult_is_one_json_line_of_scores_by_part():
    """Autolab's "Lab Hooks", "Autoresult Parsing" (https://docs.autolabproject.com/lab-hooks/):
    the last non-empty line of the output is parsed as JSON; its ``scores`` map each
    problem (here: each part of the rubric) to its score."""
    result = a_class_result()
    result.checks = [one for one in result.checks if one.status != ERROR]
    line = autolab.autoresult(result)
    assert "\n" not in line
    assert json.loads(line) == {"scores": {"client": 7.0, "p2p": 3.0, "hub": 0.0}}
    assert sum(json.loads(line)["scores"].values()) == result.score


def test_autolab_gets_no_scores_from_a_run_with_a_grader_error():
    line = autolab.autoresult(a_class_result())
    assert line == autolab.NO_SCORES
    with pytest.raises(ValueError):
        json.loads(line)


def test_every_output_module_keeps_to_the_output_rule():
    """ARCHITECTURE.md, "The outputs": the new outputs import only the core, files,
    console and the other outputs (the rule tests/test_architecture.py checks for the
    first three)."""
    from tests.test_architecture import PURE, breaches
    allowed = PURE | {"grader.report", "grader.gradescope", "grader.gradebook", "grader.files",
                      "grader.console", "grader.prairielearn", "grader.github_classroom",
                      "grader.autolab"}
    for module in ("grader.prairielearn", "grader.github_classroom", "grader.autolab"):
        assert breaches(module, allowed) == [], module
    assert results.VISIBLE == "visible"
