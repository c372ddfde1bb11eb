"""Run a student's program the way the grader needs it run.

Usage: ``python -u _launch.py STUDENT_FILE [ARGS...]``

Theory of operation
-------------------
The grader starts every student program through this script, run as a script of its own:
it is never imported as part of the ``grader`` package and imports nothing from it. It sets
``sys.argv`` and ``sys.path[0]`` to what ``python STUDENT_FILE ARGS...`` would have given
(this folder leaves ``sys.path``), patches the ``socket`` module, and runs the file as
``__main__`` with :func:`runpy.run_path`. To the student's code the process looks like an
ordinary run. A crash is printed by ``sys.excepthook`` as usual, with this script's and
runpy's frames taken out (a SyntaxError thus prints just its ``File ..., line N`` / caret /
message), so the student sees only frames that concern them; the same goes for socket
errors in threads. It runs some twenty times per grading, so it imports almost nothing:
``socket`` (which the student's program imports anyway) and ``runpy`` (``io`` and ``os`` are
loaded with Python itself); notes are written without ``json``.

The network guard. Grading must never reach outside the machine, and a program that works
on a student's laptop must not fail in the grader only because the grader's machine has
another address. ``socket.socket`` is replaced by :class:`GuardedSocket`, which judges the
address given to ``bind``, ``connect``, ``connect_ex``, ``sendto`` and ``sendmsg`` of an
IPv4 or IPv6 socket (other families, such as AF_UNIX, pass untouched). Loopback passes as
it is. A wildcard, the machine's own host name or one of its own addresses (one that a
throwaway socket can bind) is rewritten to loopback: "this machine" is what the student
meant, and it is lab mistake 8 (``gethostbyname(gethostname())`` is a LAN address on one
machine and ``127.0.1.1`` on another). Other names are looked up (the real getaddrinfo) and
judged by their address. A UDP ``connect`` to a remote address sends nothing (it is the
usual trick to learn one's own address), so it is pointed at 127.0.0.1 instead and
``getsockname()`` then reports 127.0.0.1. Anything else is refused with a
``PermissionError`` before the real call is made, so no packet leaves; ``connect_ex``, whose
contract is to report errors as a number, returns ``errno.EACCES`` instead. For the
machine's own name ``gethostbyname`` and ``gethostbyname_ex`` answer 127.0.0.1 and
``getaddrinfo`` answers what it gives for 127.0.0.1 (for AF_INET6, ::1; an unspecified
family gets the IPv4 answer only, as most machines' own name does, so that code looking for
a "non-127" address does not pick ::1 for an IPv4 socket). The module attribute itself is
replaced, so ``accept()``, ``create_connection``, ``create_server``, ``socketpair`` and
``dup`` hand out guarded sockets too. This is a guard against honest mistakes, not a
sandbox: ``_socket`` or ``ctypes`` get past it.

Windows ``close()`` on other systems. The lab's hints assume Windows: ``close()`` from the
send thread makes the receive thread's blocked ``recv()`` raise, and the peer sees the
connection end. On Linux ``close()`` does neither (the blocked call keeps the connection
alive), so a client written to the hints hangs after ``q``. The grader must not take points
for that, so outside Windows a GuardedSocket counts the receive calls in flight on it, and
when ``close()`` comes while one is in flight and the student never called ``shutdown()``
on that socket, it calls ``shutdown(SHUT_RDWR)`` first: that sends FIN and wakes the
receiver, whose call then raises ``OSError(EBADF)`` as on Windows instead of returning
``b''``. A note records where that ``close()`` is, so the report can say (without
deducting) that the code would hang on Linux. A program that calls ``shutdown()`` itself is
left exactly as it is.

Notes. When the environment variable ``SOCKET_LAB_NOTES`` names a file, each distinct event
above is appended to it as one JSON object per line, once per process. A line is one
``os.write`` on a file opened for appending, made under a lock, so nothing waits in a
buffer when the program ends with ``os._exit`` and processes sharing the file do not mix
their lines. Kinds and their fields:

    close-wakes-recv   where: "chat_client.py:87", the student's close() call
    address-mapped     op: bind | connect | sendto | sendmsg;  host: as the program gave it;
                       to: 127.0.0.1 | ::1 | ::ffff:127.0.0.1;
                       why: wildcard | hostname | own-address | udp-route-trick
    hostname-lookup    call: gethostbyname | gethostbyname_ex | getaddrinfo;  name
    network-refused    op (as above), host, port

Reads of stdin, announced. The grader must type a prompt's answer only when the program
reads one: the course's own framework prints ``请输入聊天服务器IP`` but reads no line for it,
and an answer typed for it would be read as the port. So when ``SOCKET_LAB_STDIN_SIGNAL`` is
``1``, ``sys.stdin`` (and ``sys.__stdin__``) is rebuilt over :class:`_AnnouncingStdin`, a raw
stream whose every read of fd 0 is preceded by ``os.write(1, STDIN_SENTINEL)``; ``os.read``
on fd 0 is announced the same way (the selectors variants read the keyboard with it). Every
Python-level read gets there: ``input()``, ``sys.stdin.readline()``, ``for line in
sys.stdin``, ``sys.stdin.buffer`` and its ``raw``, a wrapper the program puts around them,
and a file of its own on fd 0 (``open(0)``, ``os.fdopen(0)``, text or binary, which get the
same kind of stream); only a copy of the descriptor (``os.dup(0)``) reads unannounced. A read
reaches fd 0 only once the text layer's and the buffer's own data are used up, that is when
the program is about to wait.
Stdout is unbuffered (and ``sys.stdout`` is flushed first, in case the program replaced it
with a buffered one), so the sentinel sits in the stdout pipe exactly after everything the
program printed before it waited. The grader's reader (grader/process.py) takes the
sentinels out of the output and records where each came. The new ``sys.stdin`` has the old
one's encoding, errors, newline handling (none on POSIX, universal on Windows), ``name``,
``mode``, ``fileno()`` and ``isatty()``, and never closes fd 0. At end of input, or after a
non-blocking read found nothing, later reads return at once without waiting, so they are
not announced until a read returns data again (a program reading in a loop at EOF must
not flood the pipe with sentinels). The sentinel holds NUL bytes, which text output never
does. Without the variable nothing is changed, so the launcher also runs by hand.
"""

import builtins
import errno
import io
import os
import sys

# Both are loaded while sys.path still starts with this script's folder, never the student's
# one (where a file named after a stdlib module would shadow it).
import runpy
import socket
from _thread import allocate_lock

#: Exit status when the launcher cannot even start the program (as for ``python missing.py``).
EXIT_USAGE = 2
#: Exit status after the program ended with an uncaught exception (as Python's own).
EXIT_CRASH = 1

MISSING_FILE = "找不到要运行的程序文件 %s / no such program file to run: %s"
USAGE = "用法 / usage: python -u _launch.py STUDENT_FILE [ARGS...]"
REFUSED = ("评分时只允许访问本机 127.0.0.1, 已拒绝 %(op)s %(host)s:%(port)s"
           " / while grading only loopback is allowed: %(op)s to %(host)s:%(port)s refused")
CLOSED_UNDER_RECV = "socket已被另一个线程关闭 / the socket was closed by another thread"

#: Give Windows close() semantics? Windows has them natively.
TRACK_CLOSE = os.name != "nt"

_THIS_FILE = sys._getframe().f_code.co_filename


def _sibling(name):
    """The names of a stdlib-only file beside this one, run by path: no ``grader`` package
    is ever imported into the student's process."""
    path = os.path.join(os.path.dirname(_THIS_FILE), name)
    names = {"__name__": "_socket_lab_" + name[:-3], "__file__": path}
    with open(path, "rb") as source:
        exec(compile(source.read(), path, "exec"), names)
    return names


#: The environment variables this launcher reads and the sentinel it writes: defined once,
#: in grader/_launch_env.py, read here once.
_ENV = _sibling("_launch_env.py")
STDIN_SENTINEL = _ENV["STDIN_SENTINEL"]
START_SENTINEL = _ENV["START_SENTINEL"]
_NOTES_PATH = os.environ.get(_ENV["NOTES"])
_SIGNAL_READS = os.environ.get(_ENV["STDIN_SIGNAL"]) == "1"
_HARDEN = os.environ.get(_ENV["HARDEN"]) == "1"
_SANDBOX_UID = os.environ.get(_ENV["SANDBOX_UID"]) or None
_RealSocket = socket.socket
_C = socket.SocketType  # the C socket type: its methods do the real work
_real_getaddrinfo = socket.getaddrinfo
_real_gethostbyname = socket.gethostbyname
_real_gethostbyname_ex = socket.gethostbyname_ex
_INET = (socket.AF_INET, getattr(socket, "AF_INET6", None))
_AF_INET6 = getattr(socket, "AF_INET6", None)

#: Frames a student never needs to see: this file and runpy (frozen on 3.11+).
_HIDDEN_FRAMES = {_THIS_FILE, runpy.run_path.__code__.co_filename}
#: Frames skipped when looking for the student's close() call (``with sock:`` goes through socket.py).
_NOT_THE_CALLER = {_THIS_FILE, _RealSocket.close.__code__.co_filename}


# -- notes ------------------------------------------------------------------------------

class _Notes:
    """Appends each distinct note once, as one JSON line, to the file named by $SOCKET_LAB_NOTES."""

    def __init__(self, path):
        self.path = path
        self.fd = None
        self.seen = set()
        self.lock = allocate_lock()

    def open_now(self):
        """Open the file before this process gives up its privileges (see _harden)."""
        if self.path and self.fd is None:
            try:
                self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT
                                  | getattr(os, "O_BINARY", 0), 0o666)
            except OSError:
                pass

    def add(self, **fields):
        if not self.path:
            return
        key = tuple(fields.items())
        with self.lock:
            if key in self.seen:
                return
            self.seen.add(key)
            self.open_now()
            try:
                if self.fd is not None:
                    os.write(self.fd, _json_line(fields))
            except (OSError, ValueError):
                pass  # a note must never break the student's program


def _json_value(value):
    if isinstance(value, int):
        return str(int(value))
    out = []
    for ch in str(value):
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch < " ":
            out.append("\\u%04x" % ord(ch))
        else:
            out.append(ch)
    return '"%s"' % "".join(out)


def _json_line(fields):
    """One JSON object and a newline, as UTF-8 (json is not imported: it costs start-up time)."""
    body = ", ".join("%s: %s" % (_json_value(k), _json_value(v)) for k, v in fields.items())
    return ("{%s}\n" % body).encode("utf-8", "backslashreplace")


_notes = _Notes(os.path.abspath(_NOTES_PATH) if _NOTES_PATH else None)


# -- tracebacks without the launcher ----------------------------------------------------

def _without_hidden_frames(tb):
    kept = []
    while tb is not None:
        if tb.tb_frame.f_code.co_filename not in _HIDDEN_FRAMES:
            kept.append(tb)
        tb = tb.tb_next
    new = None
    for entry in reversed(kept):
        new = type(entry)(new, entry.tb_frame, entry.tb_lasti, entry.tb_lineno)
    return new


def _strip_launcher_frames(exc):
    """Take this file's and runpy's frames out of ``exc`` and the exceptions chained to it."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        exc.__traceback__ = _without_hidden_frames(exc.__traceback__)
        for chained in (exc.__cause__,):
            if chained is not None and id(chained) not in seen:
                _strip_launcher_frames(chained)
        exc = exc.__context__


_thread_hook_installed = False


def _hide_launcher_in_threads():
    """Make ``threading.excepthook`` drop this file's frames, so that an error of a socket call
    in a thread (the guard's, or the system's raised inside a GuardedSocket method) reads as if
    the socket call raised it. Installed once the program has imported threading and makes a
    socket (or the guard raises): start-up pays nothing."""
    global _thread_hook_installed
    if _thread_hook_installed:
        return
    threading = sys.modules.get("threading")
    if threading is None:
        return
    _thread_hook_installed = True
    original = threading.excepthook

    def excepthook(args):
        if args.exc_value is not None:
            _strip_launcher_frames(args.exc_value)
            tb = args.exc_value.__traceback__
            if hasattr(args, "_replace"):
                args = args._replace(exc_traceback=tb)
            else:
                args = type(args)((args.exc_type, args.exc_value, tb, args.thread))
        return original(args)

    threading.excepthook = excepthook


# -- which addresses are this machine ---------------------------------------------------

_HOSTNAME = socket.gethostname().lower().rstrip(".")
_SHORT_HOSTNAME = _HOSTNAME.split(".")[0]


def _text(host):
    if isinstance(host, (bytes, bytearray)):
        try:
            return bytes(host).decode("ascii")
        except UnicodeDecodeError:
            return None
    return host if isinstance(host, str) else None


def _literal(host):
    """Classify an IP literal: (kind, v4) with kind 'loopback', 'wildcard' or 'other' and v4 the
    IPv4 text inside an IPv4-mapped IPv6 address (else None); None when ``host`` is a name."""
    try:
        packed = socket.inet_pton(socket.AF_INET, host)
        mapped = None
    except (OSError, ValueError):
        try:
            packed = socket.inet_pton(_AF_INET6, host.split("%", 1)[0])
        except (OSError, ValueError, TypeError):
            return None
        if packed == b"\0" * 15 + b"\1":
            return "loopback", None
        if packed[:12] != b"\0" * 10 + b"\xff\xff":
            return ("wildcard" if packed == b"\0" * 16 else "other"), None
        packed = packed[12:]
        mapped = socket.inet_ntop(socket.AF_INET, packed)
    if packed[0] == 127:
        return "loopback", mapped
    return ("wildcard" if packed == b"\0\0\0\0" else "other"), mapped


def _is_own_hostname(name):
    name = _text(name)
    if not name:
        return False
    name = name.lower().rstrip(".")
    if name == "localhost" or _literal(name) is not None:
        return False
    return name == _HOSTNAME or name.split(".")[0] == _SHORT_HOSTNAME


_own_address_cache = {}


def _is_own_address(family, sockaddr):
    """True if ``sockaddr``'s host is an address of this machine: a throwaway socket can bind it."""
    key = (family,) + tuple(sockaddr[:1]) + tuple(sockaddr[3:4])
    if key not in _own_address_cache:
        try:
            with _RealSocket(family, socket.SOCK_DGRAM) as probe:
                probe.bind((sockaddr[0], 0) + tuple(sockaddr[2:4]))
            _own_address_cache[key] = True
        except (OSError, OverflowError, TypeError, ValueError):
            _own_address_cache[key] = False
    return _own_address_cache[key]


# -- the network guard ------------------------------------------------------------------

def _refuse(op, host, port):
    _notes.add(kind="network-refused", op=op, host=host, port=port)
    _hide_launcher_in_threads()
    raise PermissionError(errno.EACCES, REFUSED % {"op": op, "host": host, "port": port})


def _judge(family, kind, host, port, address):
    """What ``host`` is: ('loopback' | 'wildcard' | 'hostname' | 'own-address' | 'other', v4), v4
    being the IPv4 address inside an IPv4-mapped IPv6 one (else None).

    A name is looked up with the real getaddrinfo and judged by the address it gives.
    """
    if host == "":
        return "wildcard", None
    if host.lower() == "<broadcast>":  # Python's name for 255.255.255.255
        host = "255.255.255.255"
        address = (host, port)
    if host.lower().rstrip(".") == "localhost":
        return "loopback", None
    literal = _literal(host)
    sockaddr = address
    if literal is None:
        if _is_own_hostname(host):
            return "hostname", None
        info = _real_getaddrinfo(host, port, family, kind)  # raises gaierror as the real call would
        sockaddr = info[0][4]
        literal = _literal(sockaddr[0])
        if literal is None:
            return "other", None
    what, mapped = literal
    if what != "other":
        return what, mapped
    if mapped:
        own = _is_own_address(socket.AF_INET, (mapped, 0))
    else:
        own = _is_own_address(family, sockaddr)
    return ("own-address" if own else "other"), mapped


def _route(sock, op, address):
    """The address ``op`` really uses: loopback as given, this machine rewritten to loopback,
    the rest refused (PermissionError). Non-IP sockets and malformed addresses pass untouched,
    so the real call reports its own error."""
    if not sock._lab_inet or type(address) is not tuple or len(address) < 2:
        return address
    host, port = _text(address[0]), address[1]
    if host is None or not isinstance(port, int):
        return address
    family = sock._lab_family
    why, mapped = _judge(family, sock.type, host, port, address)
    if why == "loopback":
        return address
    if why == "other":
        if op == "connect" and sock.type == socket.SOCK_DGRAM:
            why = "udp-route-trick"  # sends nothing; it only asks the routing table
        else:
            _refuse(op, host, port)
    if family == _AF_INET6:
        to = "::1" if mapped is None else "::ffff:127.0.0.1"
        rest = tuple(address[2:3]) + ((0,) if len(address) > 3 else ())
    else:
        to, rest = "127.0.0.1", ()
    _notes.add(kind="address-mapped", op=op, host=host, to=to, why=why)
    return (to, port) + rest


def _closed_under_recv():
    _hide_launcher_in_threads()
    return OSError(errno.EBADF, CLOSED_UNDER_RECV)


def _caller_of_close():
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename in _NOT_THE_CALLER:
        frame = frame.f_back
    if frame is None:
        return "?"
    return "%s:%d" % (os.path.basename(frame.f_code.co_filename), frame.f_lineno)


def _receive(name, got_nothing):
    """A receive method (``recv``, ``recv_into``, ...) that counts itself as in flight and, once
    woken by :meth:`GuardedSocket.close`, raises EBADF as on Windows instead of returning
    nothing. Data that came before the close is still returned; the next call then fails
    natively on the closed socket."""
    real = getattr(_C, name)

    def receive(self, *args):
        if not self._lab_inet:
            return real(self, *args)
        with self._lab_lock:
            self._lab_receiving += 1
        try:
            result = real(self, *args)
        finally:
            with self._lab_lock:
                self._lab_receiving -= 1
        if self._lab_woken and got_nothing(result):
            raise _closed_under_recv()
        return result

    receive.__name__ = receive.__qualname__ = name
    return receive


class GuardedSocket(_RealSocket):
    """``socket.socket`` with the network guard and, outside Windows, Windows close() semantics.

    Overrides bind, connect, connect_ex, sendto, sendmsg (the guard), accept (hands out
    GuardedSockets), and outside Windows recv, recv_into, recvfrom, recvfrom_into, shutdown
    and close (the close semantics). Everything else is the ordinary socket.
    """

    __slots__ = ("_lab_inet", "_lab_family", "_lab_lock", "_lab_receiving", "_lab_shut",
                 "_lab_woken")

    def __init__(self, *args, **kwargs):
        _RealSocket.__init__(self, *args, **kwargs)
        family = _C.family.__get__(self)
        self._lab_family = family
        self._lab_inet = family in _INET
        self._lab_lock = allocate_lock()
        self._lab_receiving = 0  # receive calls in flight (all threads)
        self._lab_shut = False   # the student called shutdown()
        self._lab_woken = False  # close() shut the socket down under a blocked receive
        _hide_launcher_in_threads()

    # -- the guard --
    def bind(self, address):
        return _C.bind(self, _route(self, "bind", address))

    def connect(self, address):
        return _C.connect(self, _route(self, "connect", address))

    def connect_ex(self, address):
        # connect_ex reports a refused connection as an error number, not an exception
        try:
            address = _route(self, "connect", address)
        except PermissionError as refused:
            return refused.errno
        return _C.connect_ex(self, address)

    def sendto(self, data, *flags_address):
        if flags_address:
            flags_address = flags_address[:-1] + (_route(self, "sendto", flags_address[-1]),)
        return _C.sendto(self, data, *flags_address)

    if hasattr(_C, "sendmsg"):  # not on Windows
        def sendmsg(self, buffers, *rest):
            if len(rest) >= 3 and rest[2] is not None:
                rest = rest[:2] + (_route(self, "sendmsg", rest[2]),) + rest[3:]
            return _C.sendmsg(self, buffers, *rest)

    def accept(self):
        fd, addr = self._accept()
        sock = GuardedSocket(self.family, self.type, self.proto, fileno=fd)
        if socket.getdefaulttimeout() is None and self.gettimeout():
            sock.setblocking(True)
        return sock, addr

    if TRACK_CLOSE:
        # -- Windows close() semantics --
        recv = _receive("recv", lambda data: not data)
        recv_into = _receive("recv_into", lambda count: not count)
        recvfrom = _receive("recvfrom", lambda result: not result[0])
        recvfrom_into = _receive("recvfrom_into", lambda result: not result[0])

        def shutdown(self, how):
            self._lab_shut = True
            return _C.shutdown(self, how)

        def close(self):
            if self._lab_inet and not self._lab_shut and not self._closed:
                with self._lab_lock:
                    blocked = self._lab_receiving > 0
                    if blocked:
                        self._lab_woken = True  # set before the receiver can wake
                if blocked:
                    _notes.add(kind="close-wakes-recv", where=_caller_of_close())
                    try:
                        _C.shutdown(self, socket.SHUT_RDWR)  # FIN to the peer; wakes the receiver
                    except OSError:
                        pass  # not connected (any more): nothing to wake
            return _RealSocket.close(self)


# Student output that prints a socket shows <socket.socket fd=...>, as without the launcher.
GuardedSocket.__module__ = "socket"
GuardedSocket.__qualname__ = "socket"


# -- name lookups -----------------------------------------------------------------------

def gethostbyname(hostname):
    if _is_own_hostname(hostname):
        _notes.add(kind="hostname-lookup", call="gethostbyname", name=_text(hostname))
        return "127.0.0.1"
    return _real_gethostbyname(hostname)


def gethostbyname_ex(hostname):
    if _is_own_hostname(hostname):
        _notes.add(kind="hostname-lookup", call="gethostbyname_ex", name=_text(hostname))
        return hostname, [], ["127.0.0.1"]
    return _real_gethostbyname_ex(hostname)


def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
    """For this machine's own name, the loopback answers: 127.0.0.1 (AF_INET or unspecified:
    one IPv4 answer, as most machines' own name gives), ::1 (AF_INET6)."""
    if not _is_own_hostname(host) or flags & getattr(socket, "AI_NUMERICHOST", 0):
        return _real_getaddrinfo(host, port, family, type, proto, flags)
    _notes.add(kind="hostname-lookup", call="getaddrinfo", name=_text(host))
    loopback = "::1" if family == _AF_INET6 else "127.0.0.1"
    return _real_getaddrinfo(loopback, port, family, type, proto, flags)


def _install_guard():
    socket.socket = GuardedSocket
    socket.gethostbyname = gethostbyname
    socket.gethostbyname_ex = gethostbyname_ex
    socket.getaddrinfo = getaddrinfo


# -- reads of stdin, announced -----------------------------------------------------------

_real_os_read = os.read
#: True while a read would return at once (end of input, or a non-blocking read that found
#: nothing): such reads wait for nothing, so they are not announced.
_stdin_quiet = False


def _announce_read():
    """Tell the grader, in the stdout stream itself, that the program now waits for input."""
    stdout = sys.stdout
    if stdout is not None:
        try:
            stdout.flush()  # a buffered stdout of the program's own: its prompt goes first
        except Exception:
            pass  # whatever the program made of sys.stdout, this read must still happen
    try:
        os.write(1, STDIN_SENTINEL)
    except OSError:
        pass  # stdout closed: nobody listens for the sentinel either


def _read_stdin(size):
    """``os.read(0, size)``, announced first unless it would return at once."""
    global _stdin_quiet
    if not _stdin_quiet:
        _announce_read()
    try:
        data = _real_os_read(0, size)
    except BlockingIOError:
        _stdin_quiet = True
        raise
    _stdin_quiet = not data
    return data


def _announced_os_read(fd, size):
    if fd == 0:
        return _read_stdin(size)
    return _real_os_read(fd, size)


class _AnnouncingStdin(io.RawIOBase):
    """fd 0 as a raw stream (like the FileIO under ``sys.stdin``, closefd=False) whose reads
    are announced (see "Reads of stdin, announced" above)."""

    name = "<stdin>"
    mode = "rb"

    def readable(self):
        return True

    def fileno(self):
        return 0

    def isatty(self):
        return os.isatty(0)

    def readinto(self, buffer):
        try:
            data = _read_stdin(len(buffer))
        except BlockingIOError:
            return None  # the RawIOBase way to say "nothing yet" on a non-blocking stream
        buffer[:len(data)] = data
        return len(data)


_real_open = io.open
#: The modes in which ``open(0, mode)`` gets an announcing stream: reading only.
_READ_MODES = ("r", "rt", "tr", "rb", "br")


def _announcing_fd0(mode, buffering, encoding, errors, newline):
    """What ``open(0, mode, ...)`` returns, built over :class:`_AnnouncingStdin`: the same
    layers (raw, buffered, text), ``name`` 0 and ``mode`` as Python's, and fd 0 left open
    when it is closed (as ``sys.stdin`` leaves it)."""
    raw = _AnnouncingStdin()
    raw.name = 0
    if "b" in mode:
        if buffering == 0:
            return raw
        size = buffering if buffering > 1 else io.DEFAULT_BUFFER_SIZE
        return io.BufferedReader(raw, size)
    size = buffering if buffering > 1 else io.DEFAULT_BUFFER_SIZE
    text = io.TextIOWrapper(io.BufferedReader(raw, size), encoding=encoding, errors=errors,
                            newline=newline, line_buffering=buffering == 1)
    text.mode = mode
    return text


def _announced_open(file, mode="r", buffering=-1, encoding=None, errors=None, newline=None,
                    closefd=True, opener=None):
    """``open``, but a file of the program's own on fd 0 for reading (``open(0)``,
    ``os.fdopen(0)``) announces its reads as ``sys.stdin`` does."""
    if (type(file) is int and file == 0 and opener is None and mode in _READ_MODES
            and not ("b" not in mode and buffering == 0)):
        return _announcing_fd0(mode, buffering, encoding, errors, newline)
    return _real_open(file, mode, buffering, encoding, errors, newline, closefd, opener)


def _announce_stdin_reads():
    """Rebuild ``sys.stdin`` over :class:`_AnnouncingStdin`, as Python built the old one."""
    old = sys.stdin
    if old is None or not _SIGNAL_READS:
        return
    stdin = io.TextIOWrapper(
        io.BufferedReader(_AnnouncingStdin()), encoding=old.encoding, errors=old.errors,
        newline=None if os.name == "nt" else "\n",  # what Python gives sys.stdin
        line_buffering=old.line_buffering, write_through=old.write_through)
    stdin.mode = "r"
    if sys.__stdin__ is old:
        sys.__stdin__ = stdin
    sys.stdin = stdin
    os.read = _announced_os_read
    # open is io.open (os.fdopen calls io.open): both names, for either way of reaching it.
    builtins.open = io.open = _announced_open


# -- running the program ----------------------------------------------------------------

def _set_path(program):
    """sys.path as ``python program`` has it: the program's folder first, this one gone."""
    here = os.path.realpath(os.path.dirname(_THIS_FILE))
    kept = [entry for entry in sys.path
            if not isinstance(entry, str) or os.path.realpath(entry or os.curdir) != here]
    if getattr(sys.flags, "safe_path", False):  # python -P: no script folder at all
        sys.path[:] = kept
    else:
        sys.path[:] = [os.path.dirname(os.path.abspath(program))] + kept


def _report_crash(exc):
    """Print an uncaught exception as Python would, without this file's and runpy's frames."""
    _strip_launcher_frames(exc)
    try:
        sys.excepthook(type(exc), exc, exc.__traceback__)
    except Exception:
        sys.__excepthook__(type(exc), exc, exc.__traceback__)
    try:
        sys.stderr.flush()
    except (AttributeError, OSError, ValueError):
        pass


def _harden():
    """Resource limits and an unprivileged user for untrusted code (batch, Gradescope):
    grader/_sandbox.py decides, run by path like grader/_launch_env.py. A no-op unless the
    grader asked for it."""
    if not _HARDEN:
        return
    sandbox = _sibling("_sandbox.py")
    _notes.open_now()
    sandbox["harden"](int(_SANDBOX_UID) if _SANDBOX_UID else None)


def _announce_start():
    """Tell the grader the student's code starts now (its start deadline counts from here)."""
    try:
        os.write(2, START_SENTINEL)
    except OSError:
        pass


def main():
    if len(sys.argv) < 2:
        sys.stderr.write(USAGE + "\n")
        return EXIT_USAGE
    program = sys.argv[1]
    if not os.path.isfile(program):
        sys.stderr.write(MISSING_FILE % (program, program) + "\n")
        return EXIT_USAGE
    sys.argv = sys.argv[1:]
    _harden()
    _set_path(program)
    _install_guard()
    _announce_stdin_reads()
    if _SIGNAL_READS:
        _announce_start()
    try:
        runpy.run_path(program, run_name="__main__")
    except (SystemExit, KeyboardInterrupt):
        raise
    except BaseException as exc:
        _report_crash(exc)
        return EXIT_CRASH
    return 0


if __name__ == "__main__":
    _status = main()
    if _status:
        sys.exit(_status)
