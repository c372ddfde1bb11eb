"""One student's whole grading, sealed off: how batch runs a grader process in a sandbox.

    detect()            the best sealing that works here, probed once per batch:
                        bubblewrap, else ``unshare`` (root), else a uid of its own (root),
                        else none (which batch refuses without --unsafe-no-sandbox)
    Sealing             what one kind protects and what it misses: ``banner()`` says it in
                        Chinese and English, with how to get what is missing
    prepare_tree()      the batch's copy of grader/ and classroom/: student uids may run
                        the launcher and read nothing else of it (no source to read or edit)
    Sealing.command()   the argv that grades one student inside the sandbox

Theory of operation
-------------------
The grader process of each student (``python -m grader --harden ...``, grader/batch.py)
runs inside a sandbox of its own, with the programs it starts: the classroom peers
in-process, the student's files as child processes through the launcher. With bubblewrap
(``bwrap``, an existing, audited tool: Flatpak's) it gets new PID, network, IPC, UTS and
mount namespaces (and a user namespace when batch is not root):

* **PID**: the sandbox's first program is ``grader/_sandbox.py --seal``; it runs the grader,
  then records (for the student's report) and kills what the student left running. When it
  ends, the kernel kills whatever is left in the namespace, double forks and ``setsid``
  included; ``--die-with-parent`` ends it all if batch itself dies.
* **network**: loopback only, of its own. The launcher's guard (grader/_launch.py) stays,
  for its notes and honest rewrites; a ``_socket``, ``ctypes`` or ``curl`` that gets past it
  finds no route and no name server. Nobody else's listener is reachable, so a sniper can
  only snipe itself.
* **mount**: an empty root with, read-only, ``/usr`` (and the ``/bin``, ``/lib`` links), the
  Python that runs the grader and its site-packages, a few generated ``/etc`` files (a
  ``passwd`` naming the sandbox user, ``hosts`` with localhost only), the batch's grader
  copy; read-write, the student's scratch copy and a results folder (mode 0700, root's);
  a private ``/tmp`` of TMP_BYTES; the student's copy is a tmpfs of SCRATCH_BYTES, filled
  by the first program from the copy on disk, so no loop of writes fills the disk. Not there: the instructor's clone (reference solutions),
  the submissions folder, ``--out``, home folders, other students' copies.
* **uid**: as root, each student's programs drop to a uid of its own (grader/_sandbox.py),
  unique per student per run and checked to own no process before it is used, which can
  read the launcher and its own copy and nothing of the grader: the grader copy is 0711 /
  0600, root's, but for the three launcher files.
* **environment**: built from ALLOWED_ENV (PATH, HOME=/tmp, the locale), not copied.

Where bubblewrap is missing or cannot run, ``unshare`` (util-linux) gives root the same
namespaces without the mount view: the instructor's reference/, the submissions folder and
``--out`` are hidden under empty tmpfs mounts, and the rest of the disk is protected by
the uid and file modes only. Root without either still gets a uid per student, whose processes batch kills
after each student. A normal user without bubblewrap (or without user namespaces) gets no
sandbox: batch refuses to run untrusted code as the instructor's own user unless told
``--unsafe-no-sandbox``. ``banner()`` says which of this holds, in both languages.

Linux only; elsewhere (macOS, Windows) ``detect()`` finds none, and batch says so.
"""

import os
import shlex
import shutil
import stat
import subprocess
import sys
from pathlib import Path

BWRAP, UNSHARE, UID_ONLY, NONE = "bubblewrap", "unshare", "uid", "none"

#: What a sealing may protect, each as (key, Chinese, English).
PROTECTIONS = (
    ("pid", "独立的进程命名空间: 学生启动的每个进程 (包括 setsid 的守护进程) 都随评分结束",
     "a PID namespace: every process the student starts (daemons included) ends with "
     "their grading"),
    ("net", "独立的网络命名空间: 只有本机回环, 碰不到网络和其他学生的端口",
     "a network namespace: loopback only, no network, no other student's ports"),
    ("fs", "独立的文件视图: 只看得到自己的副本、Python 和启动器 (看不到参考答案、其他提交、"
           "结果和你的主目录)",
     "a filesystem view of its own: only its copy, Python and the launcher (no reference "
     "solutions, other submissions, results or your home folder)"),
    ("uid", "每个学生一个独立的无特权用户: 改不了评分程序、结果, 杀不了其他进程",
     "an unprivileged uid per student: it cannot change the grader or the results, nor "
     "kill other processes"),
)

#: How to get what is missing, by what it takes.
REMEDIES = {
    "bwrap": ("安装 bubblewrap: sudo apt-get install bubblewrap (Fedora: dnf install "
              "bubblewrap)", "install bubblewrap: sudo apt-get install bubblewrap (Fedora: "
              "dnf install bubblewrap)"),
    "userns": ("允许非特权用户命名空间: sudo sysctl -w kernel.unprivileged_userns_clone=1 "
               "(Debian), Ubuntu 24.04: sudo sysctl -w "
               "kernel.apparmor_restrict_unprivileged_userns=0",
               "allow unprivileged user namespaces: sudo sysctl -w "
               "kernel.unprivileged_userns_clone=1 (Debian); Ubuntu 24.04: sudo sysctl -w "
               "kernel.apparmor_restrict_unprivileged_userns=0"),
    "root": ("或者用 root 运行 batch (sudo), 每个学生一个独立用户",
             "or run batch as root (sudo), for a uid per student"),
    "linux": ("在 Linux 上运行 batch (或 Gradescope)", "run batch on Linux (or Gradescope)"),
}

#: The environment of a grader process in the sandbox: these, and nothing else of ours.
ALLOWED_ENV = ("LANG", "LC_ALL", "LC_CTYPE", "LC_MESSAGES", "TZ")
SANDBOX_PATH = "/usr/local/bin:/usr/bin:/bin"
SANDBOX_HOME = "/tmp"
SANDBOX_HOSTNAME = "socket-lab"

#: The sandbox's private /tmp (tmpfs, in memory): room for the grader's notes.
TMP_BYTES = 64 * 1024 * 1024
#: The student's copy in the sandbox (tmpfs): a lab is kilobytes; a few files of the
#: file-size limit (grader/_sandbox.py, 16 MiB) fit.
SCRATCH_BYTES = 64 * 1024 * 1024

#: The only files of the grader copy a student uid may read: what the launcher runs.
LAUNCHER_FILES = ("_launch.py", "_launch_env.py", "_sandbox.py")

#: Top-level folders that are links on a merged-/usr system (linked, not bound).
SYSTEM_DIRS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")

#: How long a probe of a tool may take.
PROBE_SECONDS = 30


class Sealing:
    """One way of sealing a student's grading: its ``kind``, the tool's path, whether
    batch is root (``privileged``), and the keys of PROTECTIONS it gives."""

    def __init__(self, kind, tool=None, privileged=False, protects=(), why=""):
        self.kind = kind
        self.tool = tool
        self.privileged = privileged
        self.protects = tuple(protects)
        self.why = why  # why a better kind did not work here

    def __repr__(self):
        return "<Sealing %s %s>" % (self.kind, ",".join(self.protects))

    @property
    def missing(self):
        return tuple(key for key, _, _ in PROTECTIONS if key not in self.protects)

    @property
    def runs_as_instructor(self):
        """Student code would run as the instructor's own user, in reach of their files."""
        return not self.privileged and "fs" not in self.protects

    def remedies(self):
        if sys.platform != "linux":
            return ("linux",)
        if self.privileged:
            return ("bwrap",) if self.kind != BWRAP else ()
        if self.kind == BWRAP:
            return ("root",)  # sealed, but as our own uid: only root has uids to give
        found = ("userns",) if self.tool else ("bwrap", "userns")
        return found + ("root",)

    def banner(self):
        """What protects the students' code (and what does not), in both languages."""
        names = {BWRAP: "bubblewrap (%s)" % self.tool, UNSHARE: "unshare (%s)" % self.tool,
                 UID_ONLY: "一个独立用户 / a uid of its own", NONE: "无 / none"}
        lines = ["沙箱 / sandbox: %s%s" % (names[self.kind],
                                          ", root" if self.privileged else "")]
        for key, zh, en in PROTECTIONS:
            mark = "有 / yes" if key in self.protects else "缺 / MISSING"
            lines.append("  [%s] %s" % (mark, zh))
            lines.append("         %s" % en)
        if self.missing:
            if self.why:
                lines.append("  原因 / why: %s" % self.why)
            for remedy in self.remedies():
                zh, en = REMEDIES[remedy]
                lines.append("  办法 / to fix: %s" % zh)
                lines.append("                 %s" % en)
        return "\n".join(lines)

    # ------------------------------------------------------------------ the command
    def command(self, grader_argv, box):
        """The argv that runs ``python GRADER_ARGV`` (``-u -m grader ...``) for one student
        inside this sealing. ``box`` is the student's Box (its paths and uid)."""
        python = sys.executable
        env = sandbox_env()
        # -I -S: the first program needs the standard library only, not our site folder.
        seal = [python, "-I", "-S", str(box.tree / "grader" / "_sandbox.py"), "--seal",
                str(box.leftovers)]
        seal += ["--uid", str(box.uid)] if box.uid is not None else ["--everything"]
        grader = [python] + list(grader_argv)
        if self.kind == BWRAP:
            return ([self.tool] + self._bwrap_options(box, env) + ["--"] + seal
                    + ["--fill", box.scratch_source, str(box.scratch), "--"] + grader)
        envs = [shutil.which("env") or "/usr/bin/env", "-i"] + [
            "%s=%s" % item for item in sorted(env.items())]
        if self.kind == UNSHARE:
            hide = ["--host-mounts", os.readlink("/proc/self/ns/mnt")]
            for path in box.hidden:
                hide += ["--hide", str(path)]
            return (envs + [self.tool, "--pid", "--fork", "--kill-child", "--mount-proc",
                            "--propagation", "private", "--net", "--ipc", "--uts", "--"]
                    + seal + ["--lo"] + hide + ["--"] + grader)
        return envs + grader  # UID_ONLY and NONE: batch sweeps the uid afterwards

    def _bwrap_options(self, box, env):
        options = ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
                   "--unshare-cgroup-try", "--die-with-parent", "--new-session",
                   "--hostname", SANDBOX_HOSTNAME, "--clearenv"]
        if not self.privileged:
            options.insert(0, "--unshare-user")
        for name, value in sorted(env.items()):
            options += ["--setenv", name, value]
        # /tmp first: a bind below it (this batch's folders) must land on the new tmpfs.
        options += ["--proc", "/proc", "--dev", "/dev", "--size", str(TMP_BYTES),
                    "--tmpfs", "/tmp", "--ro-bind", "/usr", "/usr"]
        for path in SYSTEM_DIRS:
            if os.path.islink(path):
                options += ["--symlink", os.readlink(path), path]
            elif os.path.isdir(path):
                options += ["--ro-bind", path, path]
        for name in sorted(os.listdir(str(box.etc))):
            options += ["--ro-bind", str(box.etc / name), "/etc/" + name]
        for path in ("/etc/ld.so.cache", "/etc/localtime"):
            options += ["--ro-bind-try", path, path]
        made = {"/", "/tmp", "/usr", "/etc", "/proc", "/dev"}
        for path in python_dirs():
            options += _parents(path, made) + ["--ro-bind", path, path]
        options += _parents(str(box.tree), made) + ["--ro-bind", str(box.tree), str(box.tree)]
        # The student's copy on a tmpfs of SCRATCH_BYTES (the sandbox's first program fills
        # it from the copy on disk, bound read-only beside it): files of the file-size
        # limit each, written in a loop, fill that and not the machine's disk.
        options += _parents(str(box.scratch), made) + [
            "--ro-bind", str(box.scratch), box.scratch_source,
            "--size", str(SCRATCH_BYTES), "--perms", "0700", "--tmpfs", str(box.scratch)]
        options += _parents(str(box.results), made) + ["--bind", str(box.results),
                                                       str(box.results)]
        options += ["--chdir", str(box.tree)]
        return options


def _parents(path, made):
    """bwrap options that make the folders above ``path`` that are not there yet, mode
    0755 (bwrap would make them 0700, and a sandbox uid could not reach /root/.pyenv/...)."""
    options = []
    parents = list(Path(path).parents)[::-1]
    for parent in parents:
        if str(parent) not in made:
            made.add(str(parent))
            options += ["--perms", "0755", "--dir", str(parent)]
    return options


class Box:
    """One student's paths in a sealed grading: the grader ``tree`` (read-only), their
    ``scratch`` copy, a ``results`` folder only root can reach (the grader's result files,
    and ``leftovers``: what the student left running), generated ``etc`` files, the
    ``uid`` their programs run as (None: ours)."""

    def __init__(self, tree, scratch, results, etc, uid, hidden=()):
        self.tree, self.scratch, self.results, self.etc = (
            Path(tree), Path(scratch), Path(results), Path(etc))
        self.uid = uid
        #: Folders a sandbox with no mount view of its own hides under an empty tmpfs
        #: (unshare): the instructor's reference solutions, the submissions, --out.
        self.hidden = tuple(hidden)

    @property
    def leftovers(self):
        return self.results / "leftovers.txt"

    @property
    def scratch_source(self):
        """Where the sandbox binds the copy on disk, read-only, to fill the scratch tmpfs."""
        return str(self.scratch) + ".src"


def sandbox_env():
    """The grader process's whole environment in the sandbox: the locale of ours (so the
    students' reports read as ours would), a PATH of system folders and HOME=/tmp, plus
    PYTHONPATH for site folders outside the interpreter's prefix (a ``pip --user``
    install of pytest), which a HOME of /tmp would lose. No secret of ours gets in."""
    env = {name: os.environ[name] for name in ALLOWED_ENV if name in os.environ}
    env.setdefault("LANG", "C.UTF-8")
    env.update({"PATH": SANDBOX_PATH, "HOME": SANDBOX_HOME})
    extra = [path for path in python_dirs() if not _under_prefix(path)]
    if extra:
        env["PYTHONPATH"] = os.pathsep.join(extra)
    return env


def _prefixes():
    return {os.path.realpath(path) for path in (sys.prefix, sys.base_prefix, sys.exec_prefix,
                                                 sys.base_exec_prefix)}


def _under_prefix(path):
    return any(path == prefix or path.startswith(prefix + os.sep) for prefix in _prefixes())


def _project_root():
    return os.path.realpath(str(Path(__file__).resolve().parent.parent))


def python_dirs():
    """Folders the sandbox binds read-only so the grader's Python runs as it does here:
    its prefixes (a virtual environment's and its base), the folder of the executable, and
    the package folders of ``sys.path`` outside them (a user site), but never the project
    itself (reference/ is in it), a folder that holds it, nor the folder batch was started
    from."""
    root = _project_root()
    found = set(_prefixes()) | {os.path.dirname(os.path.realpath(sys.executable))}
    for entry in sys.path:
        # Only package folders: sys.path also holds the folder batch was started from
        # (the instructor's home, say), which must stay out.
        if entry and os.path.isdir(entry) and os.path.basename(
                os.path.normpath(entry)) in ("site-packages", "dist-packages"):
            found.add(os.path.realpath(entry))
    kept = []
    for path in sorted(found):
        if path == "/" or path == "/usr" or path.startswith("/usr/"):
            continue  # bound whole already
        if path == root or root.startswith(path + os.sep) or path.startswith(root + os.sep):
            continue  # the clone: never in the sandbox (the launcher's copy is)
        if any(path.startswith(parent + os.sep) for parent in kept):
            continue
        kept.append(path)
    return kept


# -------------------------------------------------------------------------- detection

def _runs(argv):
    try:
        done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              stdin=subprocess.DEVNULL, timeout=PROBE_SECONDS)
    except (OSError, subprocess.TimeoutExpired) as error:
        return str(error)
    if done.returncode != 0:
        return (done.stderr.decode("utf-8", "replace").strip().splitlines() or
                ["exit status %d" % done.returncode])[-1]
    return ""


def detect(privileged=None, which=shutil.which):
    """The best Sealing that works here, each tool tried for real (a container may forbid
    namespaces even to root). ``privileged``: whether batch runs as root (default: ask)."""
    if sys.platform != "linux":
        return Sealing(NONE, why="%s: namespaces are Linux's" % sys.platform)
    if privileged is None:
        privileged = os.geteuid() == 0
    why = []
    bwrap = which("bwrap")
    if bwrap:
        probe = [bwrap, "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
                 "--die-with-parent", "--ro-bind", "/", "/", "--proc", "/proc",
                 "--dev", "/dev", "true"]
        if not privileged:
            probe.insert(1, "--unshare-user")
        failed = _runs(probe)
        if not failed:
            protects = ("pid", "net", "fs", "uid") if privileged else ("pid", "net", "fs")
            return Sealing(BWRAP, bwrap, privileged, protects)
        why.append("bwrap: %s" % failed)
    else:
        why.append("bwrap: not installed")
    if privileged:
        unshare = which("unshare")
        if unshare:
            failed = _runs([unshare, "--pid", "--fork", "--kill-child", "--mount-proc",
                            "--net", "--ipc", "--uts", "true"])
            if not failed:
                why.append("unshare: no mount view of its own (reference/, the submissions "
                           "and --out are hidden; the rest reads as any user reads it)")
                return Sealing(UNSHARE, unshare, True, ("pid", "net", "uid"), "; ".join(why))
            why.append("unshare: %s" % failed)
        return Sealing(UID_ONLY, None, True, ("uid",), "; ".join(why))
    return Sealing(NONE, bwrap, False, (), "; ".join(why))


# ------------------------------------------------------------------- the grader copy

def prepare_tree(source_root, into):
    """Copy ``grader/`` and ``classroom/`` of ``source_root`` into ``into``, compiled, so
    that root reads everything and any other uid only the launcher's files: folders 0711
    (grader/, into) and 0700 (the rest), files 0600, the LAUNCHER_FILES 0644. The sandbox
    binds it read-only: nothing in it can be edited, by anyone. Returns ``into``."""
    import compileall
    into = Path(into)
    into.mkdir(mode=0o711)
    for package in ("grader", "classroom"):
        shutil.copytree(str(Path(source_root) / package), str(into / package),
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    compileall.compile_dir(str(into), quiet=1, workers=1)
    for root, dirs, files in os.walk(str(into)):
        for name in files:
            os.chmod(os.path.join(root, name), stat.S_IRUSR | stat.S_IWUSR)
        os.chmod(root, 0o700)
    for path in (into, into / "grader"):
        os.chmod(str(path), 0o711)
    for name in LAUNCHER_FILES:
        os.chmod(str(into / "grader" / name), 0o644)
    return into


def write_etc(folder, uid):
    """The /etc files the sandbox gets (generated, nothing of ours): the sandbox user in
    passwd and group, localhost (and the sandbox's own name) in hosts, files-only look-ups."""
    folder = Path(folder)
    folder.mkdir(mode=0o755)
    me = os.getuid()
    users = [(0, "root", "/root")] + ([(me, "instructor", "/tmp")] if me else [])
    if uid is not None:
        users.append((uid, "student", "/tmp"))
    (folder / "passwd").write_text("".join("%s:x:%d:%d::%s:/bin/false\n" % (name, number,
                                                                            number, home)
                                           for number, name, home in users), encoding="utf-8")
    (folder / "group").write_text("".join("%s:x:%d:\n" % (name, number)
                                          for number, name, _ in users), encoding="utf-8")
    (folder / "hosts").write_text("127.0.0.1\tlocalhost %s\n::1\tlocalhost\n"
                                  % SANDBOX_HOSTNAME, encoding="utf-8")
    (folder / "nsswitch.conf").write_text("passwd: files\ngroup: files\nhosts: files\n",
                                          encoding="utf-8")
    for path in folder.iterdir():
        os.chmod(str(path), 0o644)
    return folder


def wrapper_script(path, argv):
    """A shell script that runs ``argv`` whatever it is given: batch starts a grader
    process as ``python -u ARGS`` (grader.process.ChildProcess), so the sandbox's command
    goes in a script standing for ``python``."""
    Path(path).write_text("#!/bin/sh\nexec %s\n" % " ".join(shlex.quote(word) for word in argv),
                          encoding="utf-8")
    os.chmod(str(path), 0o700)
    return path
