"""The command line both classroom servers share (``python -m classroom.hub_server --help``).

    python -m classroom.hub_server                    # whole classroom, port 10001
    python -m classroom.echo_server --host 127.0.0.1  # this computer only, port 10000

``run_cli`` parses the options, starts the server on a loop of its own and serves until
Ctrl-C or SIGTERM. Mistakes of whoever starts the server (a busy port, a port needing
privileges, an address that is not this computer's) end it with the one line
``describe_listen_error`` writes and exit status 1, never a traceback. Listening on every
interface, it also names this machine's LAN addresses, the ones students type in.
"""
import argparse
import asyncio
import errno
import signal
import socket

from . import admission
from .core import DEFAULT_MAX_CLIENTS, stderr_log

try:
    import resource   # POSIX: the limit on open files
except ImportError:   # Windows: no such per-process limit to raise
    resource = None

__all__ = ['build_parser', 'describe_listen_error', 'lan_addresses', 'run_cli',
           'serve_until_stopped']

# The errno values of "address in use", "not permitted" and "not my address": POSIX
# names, plus the Winsock numbers that Windows reports for socket errors instead.
_ADDRESS_IN_USE = {errno.EADDRINUSE, 10048}        # WSAEADDRINUSE
_NOT_PERMITTED = {errno.EACCES, errno.EPERM, 10013}  # WSAEACCES (also Windows' reserved ranges)
_NOT_AN_ADDRESS_HERE = {errno.EADDRNOTAVAIL, 10049}  # WSAEADDRNOTAVAIL

#: Hosts that mean "every interface": the log then names the addresses students can use.
WILDCARD_HOSTS = ('0.0.0.0', '::', '')

#: Clients from one address at once, by default: a student trying two or three clients
#: at once gets in; one student cannot take the class's places.
DEFAULT_MAX_PER_ADDRESS = 5

#: Files a server needs open besides one per client (listening sockets, the loop's own,
#: stdio, a web view's), when it checks the limit on open files.
SPARE_FILES = 64

#: How to get the web view's library, named where --web cannot find it.
WEB_INSTALL = ('the web view needs aiohttp: pip install "socket-lab[web]" '
               '(or pip install aiohttp), then run this again')


def lan_addresses():
    """This machine's own IPv4 addresses other than loopback, as far as its name says.

    Asks the resolver only (no packet leaves the machine); may be empty, e.g. on a laptop
    whose name resolves to 127.0.1.1 alone.
    """
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET, socket.SOCK_STREAM)
    except OSError:
        return []
    found = []
    for info in infos:
        address = info[4][0]
        if not address.startswith('127.') and address not in found:
            found.append(address)
    return found


# -------------------------------------------------------------------- command line

def _port_number(text):
    if not text.isdigit() or not 0 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError('a port is a number from 0 to 65535, not %r' % text)
    return int(text)


def _positive_int(text):
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError('a whole number of at least 1, not %r' % text)
    return int(text)


def _count_or_zero(text):
    if not text.isdigit():
        raise argparse.ArgumentTypeError('a whole number (0: no cap), not %r' % text)
    return int(text)


def _seconds(text):
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < float('inf'):
        raise argparse.ArgumentTypeError('a number of seconds above 0, not %r' % text)
    return value


def _networks(text):
    try:
        admission.parse_networks([text])
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error))
    return text


def build_parser(server_class, prog, description):
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument(
        '--host', default='0.0.0.0',
        help='address to listen on (default: 0.0.0.0, every network interface, so the whole '
             'classroom can reach this server; --host 127.0.0.1 keeps it local to this computer)')
    parser.add_argument(
        '--port', type=_port_number, default=server_class.DEFAULT_PORT,
        help='port to listen on (default: %(default)s; 0 picks a free port and logs it)')
    parser.add_argument(
        '--max-clients', type=_positive_int, default=DEFAULT_MAX_CLIENTS, metavar='N',
        help='clients connected at once; later ones are told the server is full '
             '(default: %(default)s)')
    parser.add_argument(
        '--max-per-ip', type=_count_or_zero, default=DEFAULT_MAX_PER_ADDRESS, metavar='N',
        help='clients from one IP address at once; more are told to close one first '
             '(default: %(default)s; 0: no cap, e.g. when the whole class runs on one machine)')
    parser.add_argument(
        '--idle-timeout', type=_seconds, default=None, metavar='S',
        help='close a client that has sent nothing for S seconds (default: never)')
    parser.add_argument(
        '--allow', type=_networks, action='append', default=[], metavar='CIDR',
        help='only let in addresses in this network, e.g. 10.0.0.0/8 (repeat it, or separate '
             'several with commas; default: everyone)')
    parser.add_argument(
        '--deny', type=_networks, action='append', default=[], metavar='CIDR',
        help='never let in addresses in this network (wins over --allow)')
    parser.add_argument(
        '--quiet', action='store_true',
        help='do not log every join and departure (starts, refusals, drops and errors still are)')
    if getattr(server_class, 'HAS_WEB_VIEW', False):
        parser.add_argument(
            '--web', type=_port_number, default=None, metavar='PORT',
            help='also serve a read-only web page of the room on PORT (who is online, joins, '
                 'leaves, messages, live) for the classroom screen; needs aiohttp '
                 '(pip install "socket-lab[web]")')
        parser.add_argument(
            '--web-host', default=None, metavar='HOST',
            help='address the web page listens on (default: the same as --host)')
    return parser


def describe_listen_error(error, host, port, option='--port'):
    """One line telling whoever started the server why it cannot listen, and what to do."""
    where = '%s:%d' % (host, port)
    if isinstance(error, socket.gaierror):
        return 'error: cannot listen on %s: unknown host address (%s)' % (where, error.strerror)
    if error.errno in _ADDRESS_IN_USE:
        return ('error: port %d is already in use on %s (is this server already running?); '
                'stop the other program or choose another port with %s' % (port, host, option))
    if error.errno in _NOT_PERMITTED:
        return ('error: not permitted to listen on %s (ports below 1024 need administrator '
                'rights, and Windows reserves some ranges); choose another port with %s'
                % (where, option))
    if error.errno in _NOT_AN_ADDRESS_HERE:
        return ('error: cannot listen on %s: %s is not an address of this computer; '
                'use --host 0.0.0.0 or one of its own addresses' % (where, host))
    return 'error: cannot listen on %s: %s' % (where, error)


def _log_where_students_connect(server, log):
    """Listening on every interface, name the addresses students can reach it at."""
    if server.host in WILDCARD_HOSTS:
        addresses = lan_addresses()
        if addresses:
            log('students connect to %s, port %d' % (' or '.join(addresses), server.port))


def _stop_on_signals(loop, stopped):
    """Let SIGINT (Ctrl-C) and SIGTERM finish ``stopped`` with the signal's name.

    POSIX only: on Windows ``add_signal_handler`` does not exist, and Ctrl-C arrives as
    KeyboardInterrupt out of ``run_until_complete``, which ``serve_until_stopped`` catches.
    """
    def stop(name):
        if not stopped.done():
            stopped.set_result(name)

    for signum, name in ((signal.SIGINT, 'SIGINT'), (getattr(signal, 'SIGTERM', None), 'SIGTERM')):
        if signum is None:
            continue
        try:
            loop.add_signal_handler(signum, stop, name)
        except (NotImplementedError, RuntimeError, ValueError):
            pass  # Windows or not the main thread: KeyboardInterrupt is the fallback
    _stop_on_ctrl_break()


class CtrlBreak(KeyboardInterrupt):
    """Ctrl-Break in a Windows console: stops a server as Ctrl-C does."""


def _raise_ctrl_break(signum, frame):
    raise CtrlBreak()


def _stop_on_ctrl_break():
    """Windows: let Ctrl-Break (SIGBREAK) stop the server the way Ctrl-C does, instead of
    ending the process at once with nothing closed or logged. It is also the one console
    event a program can aim at another's process group (how the Windows workflow presses
    it: tests/test_portable.py)."""
    if hasattr(signal, 'SIGBREAK'):
        try:
            signal.signal(signal.SIGBREAK, _raise_ctrl_break)
        except ValueError:
            pass  # not the main thread


def ensure_file_limit(needed, log, limits=resource):
    """Raise this process's soft limit on open files to ``needed`` if it is lower (the hard
    limit permitting): macOS starts Python with 256, fewer than a class needs. Logs one
    line if the limit stays too low. POSIX only; elsewhere there is nothing to raise."""
    if limits is None:
        return
    soft, hard = limits.getrlimit(limits.RLIMIT_NOFILE)
    if soft == limits.RLIM_INFINITY or soft >= needed:
        return
    target = needed if hard == limits.RLIM_INFINITY else min(needed, hard)
    try:
        limits.setrlimit(limits.RLIMIT_NOFILE, (target, hard))
        soft = target
    except (ValueError, OSError):
        pass
    if soft < needed:
        log('warning: this process may open only %d files, fewer than the %d that --max-clients '
            'needs; newcomers beyond that are not accepted (raise it with ulimit -n, or lower '
            '--max-clients)' % (soft, needed))


def serve_until_stopped(server, log, extra=None):
    """Run ``server`` until Ctrl-C or SIGTERM; return the exit status (1: it cannot listen).

    ``extra``, if given, is ``(start, stop)``: coroutine functions run on the same loop once
    the server listens, and before it closes (the web view); if ``start`` raises OSError
    (its port is busy), the server closes and the status is 1.
    """
    loop = asyncio.new_event_loop()
    try:
        stopped = loop.create_future()
        # Installed before listening, so a signal that follows the "listening on" line
        # always finds its handler.
        _stop_on_signals(loop, stopped)
        try:
            loop.run_until_complete(server.start())
        except OSError as error:
            log(describe_listen_error(error, server.host, server.port))
            return 1
        ensure_file_limit(server.max_clients + SPARE_FILES, log)
        if extra is not None:
            try:
                loop.run_until_complete(extra[0]())
            except OSError as error:
                host, port = getattr(error, 'where', (server.host, 0))
                log(describe_listen_error(error, host, port, '--web'))
                loop.run_until_complete(server.close())
                return 1
        _log_where_students_connect(server, log)
        try:
            reason = loop.run_until_complete(stopped)
        except KeyboardInterrupt as interrupt:
            reason = 'Ctrl-Break' if isinstance(interrupt, CtrlBreak) else 'Ctrl-C'
        if extra is not None:
            loop.run_until_complete(extra[1]())
        closed = loop.run_until_complete(server.close())
        log('stopped (%s); %d connections closed' % (reason, closed))
        return 0
    except KeyboardInterrupt:  # Ctrl-C while starting or closing: nothing left to tidy
        log('stopped (Ctrl-C)')
        return 0
    finally:
        loop.close()


def run_cli(server_class, prog, description, argv=None):
    """The whole command line of an instructor server; returns the exit status."""
    args = build_parser(server_class, prog, description).parse_args(argv)
    web_port = getattr(args, 'web', None)
    if web_port is not None:
        try:
            from . import web_view   # the optional extra: imported only when asked for
        except ImportError as error:
            stderr_log('error: %s (%s)' % (WEB_INSTALL, error))
            return 2
    server = server_class(host=args.host, port=args.port, max_clients=args.max_clients,
                          log=stderr_log, quiet=args.quiet, max_per_address=args.max_per_ip,
                          allow=args.allow, deny=args.deny, idle_timeout=args.idle_timeout)
    if web_port is None:
        return serve_until_stopped(server, stderr_log)
    view = web_view.WebView(server, args.web_host or args.host, web_port, log=stderr_log)
    return serve_until_stopped(server, stderr_log, extra=(view.start, view.stop))
