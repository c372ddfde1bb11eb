"""Run the checks with pytest in this process and return the GradingResult.

pytest's own terminal output is switched off (the report is ours); its exit code is not
ours either: a failing check is a result, not an error. Only an exit status that says
pytest could not run the checks at all (an internal or usage error) is the grader's failure:
a GraderError, recorded as a check of its own with status ERROR.
"""

import importlib.util
import os
import sys

import pytest

from . import results
from .plugin import GraderPlugin, check_id, checks_dir, environment_for_pytest, part_of
from .console import printable
from .settings import PARTS, RunSettings

#: Last-resort stop per check (seconds). Every wait in a check has its own, much shorter,
#: deadline; this only ends a check that would otherwise hang the run.
CHECK_TIMEOUT = 60

MARKS = {"passed": "✓", "failed": "✗", "error": "!"}


def pytest_args(keyword=None, extra=()):
    args = [str(checks_dir()), "-p", "no:terminal", "-p", "no:cacheprovider",
            "-p", "no:randomly", "-c", str(checks_dir() / "pytest.ini"),
            "--rootdir", str(checks_dir())]
    if importlib.util.find_spec("pytest_timeout") is not None:
        args += ["-p", "pytest_timeout", "-o", "timeout=%d" % CHECK_TIMEOUT]
        # signal-based stops raise inside the check; the thread method ends the process.
        args += ["-o", "timeout_method=%s" % ("signal" if os.name == "posix" else "thread")]
    if keyword:
        args += ["-k", keyword]
    return args + list(extra)


def grade(client, server, progress=None, **settings):
    """Grade ``client`` and ``server`` (paths) with the other RunSettings given by name;
    returns the GradingResult (a shorthand of :func:`grade_run` for tests and notebooks)."""
    return grade_run(RunSettings(client, server, **settings), progress=progress)


def grade_run(settings, progress=None):
    """Grade as ``settings`` (grader.settings.RunSettings) say; returns the GradingResult.
    ``progress``: a stream that gets one mark per check as it ends."""
    environment_for_pytest()
    lang = settings.lang
    shown = []

    def show(check):
        if progress is not None:
            if not shown:
                progress.write("评分中 / grading: " if lang == "zh" else "grading: ")
            shown.append(check)
            progress.write(printable(MARKS.get(check.status, "?"), progress))
            progress.flush()

    plugin = GraderPlugin(settings, on_result=show)
    status = pytest.main(pytest_args(settings.keyword, settings.pytest_args), plugins=[plugin])
    if status in (pytest.ExitCode.INTERNAL_ERROR, pytest.ExitCode.USAGE_ERROR):
        # pytest's exit status is where this failure shows: classified here, once.
        failure = results.GraderError("pytest could not run the checks (exit status %d); run "
                                      "python -m pytest grader/checks to see why" % status)
        plugin.result.checks.append(failure.as_check("pytest", "Running the checks", "运行检查"))
    if shown and progress is not None:
        progress.write("\n\n")
    return plugin.result


def _collect(settings, keyword=None):
    """The checks' pytest items as the plugin collects them for ``settings``, and the
    plugin (whose ``collect_errors`` say what could not be loaded)."""
    environment_for_pytest()
    collected = []

    class Collector:
        @pytest.hookimpl(trylast=True)  # after the plugin has dropped parts not asked for
        def pytest_collection_modifyitems(self, items):
            collected.extend(items)

    plugin = GraderPlugin(settings)
    pytest.main(pytest_args(keyword) + ["--collect-only"], plugins=[plugin, Collector()])
    return collected, plugin


def check_catalog(overrides=None):
    """Every check of the rubric as ``{"id", "part", "points", "file", "visibility"}``, in
    rubric order: ``file`` is the path of its check file, ``visibility`` its marker's, or
    ``overrides[id]`` (check id -> visibility). GraderError if the checks cannot all be
    loaded, or a marker's visibility is not one of results.VISIBILITIES."""
    collected, plugin = _collect(RunSettings(os.devnull, os.devnull))
    plugin.visibility_overrides = dict(overrides or {})
    if plugin.collect_errors:
        raise results.GraderError("the checks cannot be loaded: %s" % plugin.collect_errors[0])
    catalog = []
    for item in collected:
        marker = item.get_closest_marker("check")
        try:
            visibility = plugin.visibility(item)
        except ValueError as error:
            raise results.GraderError(str(error))
        catalog.append({"id": check_id(item), "part": part_of(item),
                        "points": float(marker.kwargs.get("points", 0)) if marker else 0.0,
                        "file": str(item.path if hasattr(item, "path") else item.fspath),
                        "visibility": visibility})
    catalog.sort(key=lambda check: PARTS.index(check["part"]) if check["part"] in PARTS else 99)
    return catalog


def list_checks(lang="en", keyword=None, parts=None):
    """One line per check: part, points, question."""
    settings = RunSettings(os.devnull, os.devnull, lang=lang, keyword=keyword, parts=parts)
    collected, _ = _collect(settings, keyword)
    lines = []
    collected.sort(key=lambda item: PARTS.index(part_of(item)) if part_of(item) in PARTS else 99)
    for item in collected:
        marker = item.get_closest_marker("check")
        doc = (item.function.__doc__ or "").strip().splitlines()[0]
        title = marker.kwargs.get("zh", doc) if lang == "zh" else doc
        lines.append("%-34s %4s  %s" % (check_id(item),
                                        marker.kwargs.get("points", "?"), title))
    return lines


if __name__ == "__main__":
    sys.exit("use: python -m grader")
