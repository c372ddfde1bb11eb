"""The one seam where running untrusted code depends on the operating system.

    spawn_options()     Popen options: a process group (POSIX) or a new process group
                        (Windows) of its own, so the whole tree can be killed
    kill_tree(proc)     kill a child and everything it started
    harden()            called by the launcher inside the student's process, before any
                        student code runs: resource limits, and a drop to an unprivileged
                        user when the grader runs as root (POSIX; a no-op elsewhere)
    prepare_folder()    give a scratch folder to the unprivileged user
    describe_end()      what a process's exit status says about a limit it hit
    threads_waiting()   whether every thread of a process is blocked (Linux /proc; None
                        where the system cannot tell)

Hardening is off for a student at their own desk (their code, their machine) and on for
``batch`` and the Gradescope bundle, where the grader runs code it does not trust: the
grader's run settings say so (grader.settings: ``harden``, ``sandbox_uid``), the launcher is
told through its environment (grader/_launch_env.py) and applies it to itself, so there is
no ``preexec_fn`` in a grader that runs threads.

Limits (per process; RLIMIT_NPROC counts every process and thread of the user):
CPU 60 s, address space 1 GiB, file size 16 MiB, 256 open files, and 128 processes and
threads for a dedicated user (or 128 more than the user has now, when not root). Each
student of a batch gets a uid of its own, so one student's fork bomb (whose dying children
still count against their uid) cannot starve another's threads.

Stdlib only and importable without the ``grader`` package: the launcher loads it by path.
"""

import os
import signal
import subprocess

#: The uid that probes whether a Python can run unprivileged when the grader runs as root
#: (batch gives its students uids of a block of their own: grader/batch.py).
#: Any unused uid works for setuid; it needs no entry in /etc/passwd.
FIRST_SANDBOX_UID = 64000

CPU_SECONDS = 60
ADDRESS_SPACE = 1024 * 1024 * 1024
FILE_SIZE = 16 * 1024 * 1024
OPEN_FILES = 256
PROCESSES = 128

#: Signals that mean a limit ended the process, as the report says them.
LIMIT_SIGNALS = {
    getattr(signal, "SIGXFSZ", -1): "file size limit (%d MiB)" % (FILE_SIZE // 2 ** 20),
    getattr(signal, "SIGXCPU", -1): "CPU time limit (%d s)" % CPU_SECONDS,
}


def spawn_options():
    """Popen options that put the child in a group of its own, so the tree can be killed."""
    if os.name == "posix":
        return {"start_new_session": True}
    return {"creationflags": getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)}


def kill_tree(proc):
    """Kill the child and everything it started. Portable fallback: kill the child alone."""
    if proc.poll() is not None and os.name != "posix":
        return
    if os.name == "posix":
        try:
            os.killpg(proc.pid, signal.SIGKILL)
            return
        except (ProcessLookupError, PermissionError):
            pass
    elif proc.poll() is None:
        subprocess.run(["taskkill", "/F", "/T", "/PID", str(proc.pid)],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    if proc.poll() is None:
        proc.kill()


def can_drop_to(uid):
    """Whether this process can give up its privileges to ``uid`` (root on POSIX only)."""
    return uid is not None and os.name == "posix" and os.geteuid() == 0


def harden(uid=None):
    """Limit this process (and what it starts), then drop to ``uid`` if given and we are
    root. Called by the launcher before the student's code runs, when the grader asked for
    it. Returns what was done."""
    try:
        import resource
    except ImportError:
        return []  # Windows: the portable fallback is the process group and the kill
    done = []
    uid = uid if can_drop_to(uid) else None
    processes = PROCESSES if uid is not None else _processes_of(os.getuid()) + PROCESSES
    for name, value in (("RLIMIT_CPU", CPU_SECONDS), ("RLIMIT_AS", ADDRESS_SPACE),
                        ("RLIMIT_FSIZE", FILE_SIZE), ("RLIMIT_NOFILE", OPEN_FILES),
                        ("RLIMIT_NPROC", processes)):
        which = getattr(resource, name, None)
        if which is None:
            continue
        soft, hard = resource.getrlimit(which)
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        try:
            resource.setrlimit(which, (value, value))
            done.append(name)
        except (ValueError, OSError):
            pass
    if uid is not None:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
        done.append("uid %d" % uid)
    return done


def _processes_of(uid):
    """How many processes and threads ``uid`` runs now (Linux); 0 where /proc cannot tell."""
    count = 0
    try:
        for pid in os.listdir("/proc"):
            if pid.isdigit():
                try:
                    if os.stat("/proc/" + pid).st_uid == uid:
                        count += len(os.listdir("/proc/%s/task" % pid))
                except OSError:
                    pass
    except OSError:
        return 0
    return count


def prepare_folder(path, uid):
    """Hand a scratch folder (and what is in it) to ``uid``, so the student's code can read
    its files and write beside them, and nothing else of ours."""
    if uid is None:
        return
    for root, dirs, files in os.walk(str(path)):
        for name in [root] + [os.path.join(root, entry) for entry in dirs + files]:
            os.chown(name, uid, uid)


def describe_end(returncode):
    """A limit that ended a process with ``returncode`` (negative: a signal), or None."""
    if returncode is None or returncode >= 0:
        return None
    return LIMIT_SIGNALS.get(-returncode)


def threads_waiting(pid):
    """True if every thread of process ``pid`` is asleep (blocked in accept, recv, input...),
    False if one of them is running or runnable, None where this cannot be told (no /proc,
    as on macOS and Windows, or the process is gone).

    The checks use it to pace a chat room at classroom speed: a newcomer joins only once
    the room has taken in the previous one, which no byte on the wire announces.
    """
    task = "/proc/%d/task" % pid
    try:
        threads = os.listdir(task)
    except OSError:
        return None
    for tid in threads:
        try:
            with open("%s/%s/stat" % (task, tid), "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue  # a thread that just ended
        # Asleep, or never to run again (a zombie, or dead): nothing of it is under way.
        if fields and fields[0] not in (b"S", b"D", b"I", b"Z", b"X"):
            return False
    return True
