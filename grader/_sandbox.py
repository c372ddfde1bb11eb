"""The one seam where running untrusted code depends on the operating system.

    spawn_options()     Popen options: a process group (POSIX) or a new process group
                        (Windows) of its own, so the whole tree can be killed
    kill_tree(proc)     kill a child and everything it started
    harden()            called by the launcher inside the student's process, before any
                        student code runs: resource limits, and a drop to an unprivileged
                        user when the grader runs as root (POSIX; a no-op elsewhere)
    prepare_folder()    give a scratch folder to the unprivileged user
    describe_end()      what a process's exit status says about a limit it hit
    kill_pipe_holders() kill whatever still holds a child's output pipes once the child is
                        dead (a grandchild that left its process group), so they close
    processes_of_uid()  the processes a uid runs (Linux /proc), for batch's checks and sweeps
    kill_uid()          kill every process of a uid (batch, after each student)
    seal_main()         ``python _sandbox.py --seal UID LEFTOVERS -- CMD...``: the first
                        program of one student's sandbox (grader/_bwrap.py): brings the
                        loopback up, runs the grader, then records and kills what the
                        student's uid left running in the sandbox's PID namespace
    threads_waiting()   whether every thread of a process is blocked (Linux /proc; None
                        where the system cannot tell)

Hardening is off for a student at their own desk (their code, their machine) and on for
``batch`` and the Gradescope bundle, where the grader runs code it does not trust: the
grader's run settings say so (grader.settings: ``harden``, ``sandbox_uid``), the launcher is
told through its environment (grader/_launch_env.py) and applies it to itself, so there is
no ``preexec_fn`` in a grader that runs threads.

Limits (per process; RLIMIT_NPROC counts every process and thread of the user):
CPU 60 s, address space 1 GiB, file size 16 MiB, 256 open files, and 512 processes and
threads for a dedicated user (or 512 more than the user has now, when not root). Each
student of a batch gets a uid of its own, so one student's fork bomb (whose dying children
still count against their uid) cannot starve another's threads.

Threads. A thread's stack is reserved address space: with glibc's default (8 MiB, from
RLIMIT_STACK) the 1 GiB limit allowed about 117 threads (21 without MALLOC_ARENA_MAX), so a
correct hub with two threads per client failed join-while-talking (50 clients) with "can't
start new thread". Hardened programs get THREAD_STACK (1 MiB) per thread instead, which is
what a thread gets on Windows, where the lab is written (and what Python's recursion limit
is sized for): some 900 threads fit, and the process limit (512) binds first. Memory itself
is then bounded by the address-space limit per process; batch's sandbox (grader/_bwrap.py)
ends every process of a student with their grading.

Stdlib only and importable without the ``grader`` package: the launcher loads it by path.
"""

import os
import signal
import subprocess
import sys

#: The uid that probes whether a Python can run unprivileged when the grader runs as root
#: (batch gives its students uids of a block of their own: grader/batch.py).
#: Any unused uid works for setuid; it needs no entry in /etc/passwd.
FIRST_SANDBOX_UID = 64000

CPU_SECONDS = 60
ADDRESS_SPACE = 1024 * 1024 * 1024
FILE_SIZE = 16 * 1024 * 1024
OPEN_FILES = 256
PROCESSES = 512
#: The stack of each thread a hardened program starts (see "Threads" above).
THREAD_STACK = 1024 * 1024

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
    try:
        import _thread
        _thread.stack_size(THREAD_STACK)
        done.append("thread stack")
    except (ImportError, ValueError, RuntimeError):
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


def _pipe_inodes(streams):
    inodes = set()
    for stream in streams:
        try:
            inodes.add(os.fstat(stream.fileno()).st_ino)
        except (AttributeError, OSError, ValueError):
            pass
    return inodes


def _pids():
    try:
        return [int(entry) for entry in os.listdir("/proc") if entry.isdigit()]
    except OSError:
        return []  # no /proc (macOS, Windows)


def kill_pipe_holders(*streams):
    """SIGKILL every other process holding one of ``streams``' pipes (Linux /proc; nothing
    elsewhere). Returns their pids.

    Called once a child is dead and its tree killed, if its output still has not ended:
    the holder is a descendant that left the process group (``setsid``, a double fork),
    and our reader threads would wait for it as long as it lives."""
    links = {"pipe:[%d]" % inode for inode in _pipe_inodes(streams)}
    if not links:
        return []
    killed = []
    for pid in _pids():
        if pid == os.getpid():
            continue
        try:
            fds = os.listdir("/proc/%d/fd" % pid)
        except OSError:
            continue  # gone, or not ours to look at
        for fd in fds:
            try:
                held = os.readlink("/proc/%d/fd/%s" % (pid, fd)) in links
            except OSError:
                continue
            if held:
                try:
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                except OSError:
                    pass
                break
    return killed


def _uid_of(pid):
    """The real uid of process ``pid`` (its effective one would do as well: a sandbox user
    has no other), or None once it is gone."""
    try:
        with open("/proc/%d/status" % pid, "rb") as status:
            for line in status:
                if line.startswith(b"Uid:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def _cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as cmdline:
            words = cmdline.read(400).split(b"\0")
    except OSError:
        return "?"
    return " ".join(word.decode("utf-8", "replace") for word in words if word)[:200] or "?"


def _ended(pid):
    """True if ``pid`` is gone or a zombie (dead, waiting for its parent to reap it: it
    runs nothing and holds nothing but its number)."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] in (b"Z", b"X")
    except (OSError, IndexError):
        return True


def processes_of_uid(uid):
    """``[(pid, command line)]`` of the live processes whose uid is ``uid`` (Linux /proc;
    empty where there is none)."""
    return [(pid, _cmdline(pid)) for pid in _pids() if _uid_of(pid) == uid and not _ended(pid)]


#: How long kill_uid waits for one killed process to be dead.
DEATH_WAIT = 2.0


def _kill_and_wait(pid):
    """SIGKILL ``pid`` and wait (at most DEATH_WAIT) until it is dead: a pidfd becomes
    readable then (Linux 5.3+, Python 3.9+); without one, the next sweep looks again."""
    import select
    try:
        handle = os.pidfd_open(pid)
    except (AttributeError, OSError):
        handle = None
    try:
        os.kill(pid, signal.SIGKILL)
        if handle is not None:
            select.select([handle], [], [], DEATH_WAIT)
    except OSError:
        pass
    finally:
        if handle is not None:
            os.close(handle)


#: kill_uid's sweeps: a process may fork between two sweeps, not between KILL_SWEEPS.
KILL_SWEEPS = 20


def kill_uid(uid):
    """SIGKILL every process of ``uid`` until none is left (at most KILL_SWEEPS sweeps: a
    fork loop can only fork while it is not yet killed). Returns ``[(pid, command line)]``
    of those found alive at the first sweep. Never for uid 0 or our own uid."""
    if uid is None or uid == 0 or uid == os.getuid():
        return []
    first = None
    for _ in range(KILL_SWEEPS):
        found = processes_of_uid(uid)
        if first is None:
            first = found
        if not found:
            break
        for pid, _ in found:
            _kill_and_wait(pid)
    return first or []


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


# ------------------------------------------------------------- inside a student's sandbox

def _loopback_up():
    """Bring ``lo`` up in a fresh network namespace (``unshare --net`` leaves it down;
    bubblewrap brings it up itself). Linux ioctls, as root in the namespace."""
    import fcntl
    import socket
    import struct
    siocgifflags, siocsifflags, iff_up = 0x8913, 0x8914, 0x1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        request = struct.pack("16sH14s", b"lo", 0, b"")
        flags = struct.unpack("16sH14s", fcntl.ioctl(probe, siocgifflags, request))[1]
        if not flags & iff_up:
            fcntl.ioctl(probe, siocsifflags, struct.pack("16sH14s", b"lo", flags | iff_up, b""))


def _others_in_namespace():
    """Every live process of this PID namespace but its init (pid 1) and this one."""
    return [(pid, _cmdline(pid)) for pid in _pids()
            if pid not in (1, os.getpid()) and not _ended(pid)]


def _kill_all(found):
    for pid, _ in found:
        _kill_and_wait(pid)


def _sweep_namespace():
    """kill_uid for a namespace whose processes all share our uid (a user namespace)."""
    first = None
    for _ in range(KILL_SWEEPS):
        found = _others_in_namespace()
        first = found if first is None else first
        if not found:
            break
        _kill_all(found)
    return first or []


def _fresh_pid_namespace():
    """True when this process runs in a PID namespace of its own: it is its init, or the
    init is bubblewrap's (a namespace's pid 1 is never the host's init otherwise here)."""
    return os.getpid() == 1 or _cmdline(1).split(" ")[0].endswith("bwrap")


def _hide(paths, host_mounts):
    """Mount an empty, root-only tmpfs over each of ``paths``, in this process's mount
    namespace, which must not be the host's (``host_mounts``, its /proc/self/ns/mnt as
    batch read it): with unshare there is no bind-mounted root, so the instructor's clone
    (reference/), the submissions and the results are hidden this way."""
    import ctypes
    import ctypes.util
    if os.readlink("/proc/self/ns/mnt") == host_mounts:
        raise OSError("--hide outside a mount namespace of its own: refused")
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    for path in paths:
        if os.path.isdir(path) and libc.mount(b"none", path.encode(), b"tmpfs", 0,
                                              b"size=64k,mode=0700") != 0:
            raise OSError(ctypes.get_errno(), "cannot hide %s" % path)


def _fill(source, target, uid):
    """Copy the folders and files under ``source`` into ``target`` (the student's scratch
    tmpfs), given to ``uid`` (None: ours), as prepare_folder gives the copy on disk."""
    for root, dirs, files in os.walk(source):
        inside = os.path.join(target, os.path.relpath(root, source))
        if not os.path.isdir(inside):
            os.mkdir(inside, 0o755)
        for name in files:
            with open(os.path.join(root, name), "rb") as original, \
                    open(os.path.join(inside, name), "wb") as copy:
                copy.write(original.read())
    prepare_folder(target, uid)


def seal_main(argv):
    """``--seal LEFTOVERS (--uid UID | --everything) [--lo] [--fill SOURCE SCRATCH]
    [--host-mounts NS --hide PATH...] -- CMD...``: bring the loopback up (``--lo``), copy
    the student's files into their scratch tmpfs (``--fill``), hide each PATH under an empty tmpfs
    (unshare's sandbox, see _hide), run CMD (the grader process), then write what the student left running (one ``pid<TAB>command`` line each)
    to LEFTOVERS and kill it: the processes of ``UID``, or (``--everything``, where the
    student's code runs as our own uid in a user namespace) every process of this PID
    namespace but its init and this one. Exits with CMD's status. It runs as the first
    program of a student's sandbox (grader/_bwrap.py), whose PID namespace ends with it
    anyway: this only makes the leftovers known, for the student's report."""
    usage = ("usage: _sandbox.py --seal LEFTOVERS (--uid UID | --everything) [--lo] "
             "[--fill SOURCE SCRATCH] [--host-mounts NS --hide PATH...] -- CMD...\n")
    if len(argv) < 4 or argv[0] != "--seal" or "--" not in argv:
        sys.stderr.write(usage)
        return 2
    split = argv.index("--")
    leftovers, options, command = argv[1], argv[2:split], argv[split + 1:]
    uid = int(options[options.index("--uid") + 1]) if "--uid" in options else None
    if (uid is None) == ("--everything" not in options) or not command:
        sys.stderr.write(usage)
        return 2
    if uid is None and not _fresh_pid_namespace():
        sys.stderr.write("--everything only inside a PID namespace of its own\n")
        return 2
    if "--lo" in options:
        _loopback_up()
    if "--fill" in options:
        at = options.index("--fill")
        _fill(options[at + 1], options[at + 2], uid)
    hidden = [options[at + 1] for at, option in enumerate(options[:-1]) if option == "--hide"]
    if hidden:
        host = options[options.index("--host-mounts") + 1] if "--host-mounts" in options else ""
        _hide(hidden, host)
    status = subprocess.call(command)
    found = kill_uid(uid) if uid is not None else _sweep_namespace()
    with open(leftovers, "w", encoding="utf-8") as out:
        out.write("".join("%d\t%s\n" % (pid, line) for pid, line in found))
    return status if status >= 0 else 128 - status

if __name__ == "__main__":
    sys.exit(seal_main(sys.argv[1:]))
