"""One grading run's settings, built once from the command line and passed down.

    RunSettings     what to grade and how: the two files, the language, the parts and -k
                    filter, and how student code is run (which Python, which ports,
                    hardened or not, as which user). Frozen: nothing changes it mid-run.
    PortRange       ``start-end``: the ports a run may hand to the student's server (one
                    run's cursor over it is a grader.peers.Ports)
    launcher_env    the environment variables that tell the launcher what to do: the one
                    place the grader writes them (their names are in grader/_launch_env.py)

The path of a setting: ``python -m grader`` (or ``batch``, through the grader process's
own command line) builds a RunSettings → ``run.grade`` hands it to the pytest plugin →
the plugin stores it in ``config.stash`` and gives it to each check's Lab → the Lab gives
it to every StudentProgram it starts → :func:`launcher_env` turns it into the child's
environment. No module reads the environment to find a setting.
"""

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Tuple

from . import _launch_env

#: Parts of the rubric, in rubric order; a check's part is its file's name.
PARTS = ("client", "p2p", "hub")


@dataclass(frozen=True)
class PortRange:
    """The ports ``start`` to ``end`` (inclusive)."""

    start: int
    end: int

    @classmethod
    def parse(cls, text):
        """``"20000-20999"`` → PortRange(20000, 20999); ValueError for anything else."""
        first, sep, last = str(text).partition("-")
        if not sep or not first.strip().isdigit() or not last.strip().isdigit():
            raise ValueError("a port range is START-END, such as 20000-20999: %r" % text)
        start, end = int(first), int(last)
        if not 1024 <= start <= end <= 65535:
            raise ValueError("a port range lies within 1024-65535, START <= END: %r" % text)
        return cls(start, end)

    def __str__(self):
        return "%d-%d" % (self.start, self.end)


@dataclass(frozen=True)
class RunSettings:
    """What one grading run grades and how.

    Args:
        client, server: the files graded (a missing one is graded as missing).
        lang: the language of every text a student reads ("zh" or "en").
        keyword: a pytest ``-k`` expression selecting checks (None: all).
        parts: parts of the rubric to run (None: all), see PARTS.
        student_python: the Python that runs student code (None: this one). Batch grading
            as root picks one the unprivileged sandbox user can read.
        ports: the range free ports come from (None: the kernel's choice).
        harden: resource limits on student code (batch and Gradescope; off at a
            student's own desk: their code, their machine).
        sandbox_uid: the uid student code runs as, when the grader is root (None: ours).
        pytest_args: more arguments for pytest (``--junitxml=...``).
    """

    client: Path
    server: Path
    lang: str = "en"
    keyword: Optional[str] = None
    parts: Optional[Tuple[str, ...]] = None
    student_python: Optional[str] = None
    ports: Optional[PortRange] = None
    harden: bool = False
    sandbox_uid: Optional[int] = None
    pytest_args: Tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self):
        object.__setattr__(self, "client", Path(self.client))
        object.__setattr__(self, "server", Path(self.server))
        if self.parts is not None:
            object.__setattr__(self, "parts", tuple(self.parts) or None)
        object.__setattr__(self, "pytest_args", tuple(self.pytest_args))
        if self.lang not in ("zh", "en"):
            raise ValueError("lang is zh or en: %r" % (self.lang,))
        unknown = [part for part in self.parts or () if part not in PARTS]
        if unknown:
            raise ValueError("unknown part(s) %s: the parts are %s" % (unknown, PARTS))

    @property
    def python(self):
        return self.student_python or sys.executable


def launcher_env(settings, notes_path=None, signal_reads=True):
    """The environment variables that tell the launcher how to run one student program:
    where its notes go, whether it announces reads of stdin, and its hardening."""
    env = {_launch_env.STDIN_SIGNAL: "1" if signal_reads else "0",
           _launch_env.NOTES: str(notes_path) if notes_path else "",
           _launch_env.HARDEN: "1" if settings.harden else "0",
           _launch_env.SANDBOX_UID: str(settings.sandbox_uid) if settings.sandbox_uid else ""}
    if settings.harden:
        env[_launch_env.MALLOC_ARENA_MAX] = _launch_env.HARDENED_ARENAS
    return env
