"""What crosses from the grader into a student's process: the environment variables the
launcher (grader/_launch.py) reads, and the sentinel it writes back on stdout.

The names are defined here and nowhere else. The grader builds these variables in one
place (:func:`grader.settings.launcher_env`); the launcher reads them once, at start-up.

No imports at all: the launcher runs this file by path inside the student's process, where
no ``grader`` package may be imported.
"""

#: A file: the launcher appends each distinct note to it as one JSON line.
NOTES = "SOCKET_LAB_NOTES"
#: "1": write STDIN_SENTINEL to stdout just before each read of stdin that may wait, and
#: START_SENTINEL to stderr once, just before the student's code starts.
STDIN_SIGNAL = "SOCKET_LAB_STDIN_SIGNAL"
#: "1": resource limits (grader/_sandbox.py) before the student's code runs.
HARDEN = "SOCKET_LAB_HARDEN"
#: A uid to drop to before the student's code runs (only a root launcher can); absent or
#: empty: keep ours.
SANDBOX_UID = "SOCKET_LAB_UID"

#: glibc's own: how many malloc arenas a process may make. Each thread that allocates may
#: get an arena of its own, which reserves 64 MiB of address space, so a threaded chat
#: server with a classroom of clients would meet the hardened address-space limit
#: (grader/_sandbox.py) without using the memory. Set with hardening; read by the C
#: runtime, not by the launcher.
MALLOC_ARENA_MAX = "MALLOC_ARENA_MAX"
#: The arenas a hardened student program may make.
HARDENED_ARENAS = "2"

#: Written to fd 1 before each announced read of fd 0. NUL bytes never occur in text output.
STDIN_SENTINEL = b"\x00\x1bSLSTDIN\x00"
#: Written to fd 2 once Python and the launcher are up, just before the student's code runs:
#: a start deadline counts from here, so a Python slow to start costs time, not points.
START_SENTINEL = b"\x00\x1bSLSTART\x00"
