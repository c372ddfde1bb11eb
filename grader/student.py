"""The student's file running as a child process, each prompt answered when it is read.

``StudentProgram`` starts the file through the launcher (grader/_launch.py) as the run's
settings say (which Python, hardened or not: grader.settings), follows its output, and at
each read of stdin types the answer to the last prompt it printed: grader/prompts.py
decides which prompt a read answers; this module only watches and types.
"""

import json
import threading
from pathlib import Path

from . import prompts, timeouts
from .peers import LOOPBACK
from .matching import told_on_stderr
from .process import ChildProcess, WaitTimeout, has_traceback
from .prompts import EXPECTED_PROMPTS
from .settings import RunSettings, launcher_env

LAUNCHER = Path(__file__).resolve().parent / "_launch.py"

#: Output beyond this many characters (on one stream) is a flood: the program is killed at
#: once and the check reports it. Honest output in any check is a few kilobytes.
FLOOD_KILL_CHARS = 4 * 1024 * 1024

#: At most this many prompts are answered per program (a re-prompt loop ends here).
MAX_ANSWERS = 20


class StudentProgram:
    """A student's file running as a child process, each prompt answered when it is read.

    ``answers`` maps a prompt kind (``ip``, ``port``, ``mode``, ``max``) to the reply. The
    launcher announces every read of stdin in the output (``SOCKET_LAB_STDIN_SIGNAL``); a
    watcher thread follows the output and, at each read, types the reply to the last prompt
    printed since the previous read (grader/prompts.py). So a program that reorders or
    drops prompts is still graded, and one that prints a prompt it never reads (the course
    framework's IP prompt) gets no answer it would take for the next one.

    ``seen``: prompt kinds printed, in order (read or not); ``asked``: those answered, in
    order; ``typed``: every line typed, answers and chat lines.
    """

    def __init__(self, path, role, answers, notes_path, settings=None):
        self.path = Path(path).resolve()
        self.role = role  # "client" or "server"
        self.answers = {key: str(value) for key, value in answers.items()}
        self.seen = []  # prompt kinds printed, in order, read or not
        self.asked = []  # prompt kinds answered, in order
        self.started = False  # it connected / accepted a connection
        self.typed = []  # every line typed, prompts' answers included
        self.notes_path = notes_path
        self._stdin_lock = threading.Lock()
        settings = settings or RunSettings(client=self.path, server=self.path)
        self.process = ChildProcess(
            [self.path], cwd=str(self.path.parent), launcher=LAUNCHER,
            python=settings.python, env=launcher_env(settings, notes_path),
            flood_limit=FLOOD_KILL_CHARS)
        self._watcher = threading.Thread(target=self._answer_prompts, daemon=True,
                                         name="prompts of %s" % self.path.name)
        self._watcher.start()

    # -- prompts ---------------------------------------------------------------------
    def _answer_prompts(self):
        """Watcher thread: follow stdout and its read requests; answer each read."""
        capture = self.process.stdout
        heard, position, reads = prompts.NOTHING_HEARD, 0, 0
        with capture.changed:  # released while waiting: the reader appends meanwhile
            while len(heard.asked) < MAX_ANSWERS:
                # One look at both under the lock: every request's text is already held.
                new, end = capture.text_since(position)
                requests, reads = capture.read_requests_since(reads)
                for piece, read in prompts.split_at_reads(new, end, requests):
                    heard = self._hear(heard, piece, read)
                position = end
                if capture.closed or len(heard.asked) >= MAX_ANSWERS:
                    return
                capture.changed.wait(timeouts.CHECK)

    def _hear(self, heard, text, read):
        heard, kind = prompts.hear(heard, text, read)
        self.seen, self.asked = list(heard.seen), list(heard.asked)
        if kind is not None and len(heard.asked) <= MAX_ANSWERS:
            self.type(self.answers.get(kind, LOOPBACK if kind == "ip" else ""))
        return heard

    def prompts_changed(self):
        """The given prompts this program never printed, or printed out of order (``""`` if
        none, or if the program never got far enough to tell). Judged by what it printed,
        read or not: the framework's IP prompt, printed and never read, is in its place."""
        got_going = self.started or (not self.running and not has_traceback(self.stderr))
        if not got_going:
            return ""
        return prompts.prompts_changed(EXPECTED_PROMPTS[self.role], self.seen, self.started)

    # -- input and output --------------------------------------------------------------
    def type(self, line):
        """Type one line on the program's stdin."""
        with self._stdin_lock:
            self.typed.append(line)
            return self.process.write_line(line)

    @property
    def stdout(self):
        return self.process.stdout.text

    @property
    def stderr(self):
        return self.process.stderr.text

    def allow_output(self, more):
        """See ``ChildProcess.allow_output``: output beyond the flood limit that a check's
        own traffic rightly makes the program print."""
        self.process.allow_output(more)

    def output_mark(self):
        """A position in stdout, for waits that look only at what comes after it."""
        return self.process.stdout.total_chars

    def output_size(self):
        return self.process.stdout.total_chars + self.process.stderr.total_chars

    def wait_output(self, pattern, timeout=timeouts.CHECK, since=0):
        """True once ``pattern`` (str or regex) appeared on stdout (after position
        ``since``, see ``output_mark``); False at the deadline or when the program ended
        without printing it."""
        try:
            self.process.wait_for(pattern, timeout, since=since)
            return True
        except WaitTimeout:
            return False

    def error_mark(self):
        """A position in stderr, for ``wait_said``."""
        return self.process.stderr.total_chars

    def wait_said(self, pattern, timeout=timeouts.CHECK, since=(0, 0)):
        """True once ``pattern`` (a compiled regex) appeared after ``since`` (``output_mark()``,
        ``error_mark()``) on stdout, or on stderr outside a traceback: the user reads both on
        the same console, and a notice may be printed to either, or logged."""
        out, err = since
        process = self.process

        def found():
            return bool(pattern.search(process.stdout.text_since(out)[0]) or pattern.search(
                told_on_stderr(process.stderr.text_since(err)[0])))
        return process.wait_either(found, timeout)

    def wait_exit(self, timeout=timeouts.EXIT_BAR):
        """The exit status once the program ended, or None if it still runs at the deadline."""
        status = self.process.wait_exit(timeout)
        if status is not None:
            self.process.drain()
        return status

    @property
    def running(self):
        return self.process.proc.poll() is None

    @property
    def flooded(self):
        return self.process.flooded

    def notes(self):
        """The launcher's notes: dicts with a ``kind`` (see ``_launch.py``)."""
        try:
            with open(self.notes_path, encoding="utf-8") as lines:
                return [json.loads(line) for line in lines if line.strip()]
        except (OSError, ValueError):
            return []

    def kill(self):
        self.process.kill()
        self._watcher.join(timeouts.CHECK)
