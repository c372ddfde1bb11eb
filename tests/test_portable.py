"""What a student's Windows laptop does to a grading run, reproduced here: a Python that is
slow to start (antivirus scanning python.exe, a cold disk, a file still being fetched from
OneDrive) must cost time, never points."""

import os
import sys
import time
from pathlib import Path

import pytest

from grader.run import grade_run
from grader.settings import RunSettings

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "reference"

#: How long the slow Python takes before it runs anything: more than the start deadline
#: (grader.timeouts.CHECK, 3 s) that a program's own code gets.
SLOW_START = 5

posix_only = pytest.mark.skipif(os.name != "posix", reason="the slow Python is a shell script")


def slow_python(tmp_path, delay=SLOW_START):
    """A Python that waits ``delay`` seconds before it starts, as a slow laptop's does."""
    path = tmp_path / "slow-python"
    # Not a wait for an event: the delay *is* what this stands in for.
    path.write_text('#!/bin/sh\nsleep %s\nexec "%s" "$@"\n' % (delay, sys.executable))
    path.chmod(0o755)
    return str(path)


@pytest.mark.slow
@posix_only
def test_a_python_slow_to_start_costs_time_not_points(tmp_path):
    settings = RunSettings(REFERENCE / "chat_client.py", REFERENCE / "chat_server.py",
                           keyword="client_sends_typed_line or p2p_announces_client",
                           student_python=slow_python(tmp_path))
    result = grade_run(settings)
    assert [(c.id, c.status) for c in result.checks] == [
        ("client_sends_typed_line", "passed"), ("p2p_announces_client", "passed")], [
        c.evidence.summary for c in result.checks if c.evidence]


@pytest.mark.slow
@posix_only
def test_a_program_that_spins_at_start_is_still_graded_at_todays_pace(tmp_path):
    spinning = tmp_path / "chat_server.py"
    spinning.write_text("while True:\n    pass\n", encoding="utf-8")
    started = time.monotonic()
    result = grade_run(RunSettings(REFERENCE / "chat_client.py", spinning, parts=("p2p",),
                                   student_python=slow_python(tmp_path, delay=1)))
    took = time.monotonic() - started
    assert result.score == 0 and len(result.checks) == 5
    assert all(c.evidence.hints[:1] == ["stuck-at-start"] for c in result.checks)
    # One start waited for (1 s to launch, then the start deadline), the rest at once.
    assert took < 1 + 3 + 4, took
