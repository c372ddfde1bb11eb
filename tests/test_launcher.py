"""grader/_launch.py: each test writes a tiny student program into tmp_path and runs it
through the launcher as a real child process, on loopback only.

A refused address is TEST-NET-1 (192.0.2.1, RFC 5737): nothing answers there, and the
launcher refuses it before the real call, so it is never contacted.
"""
import ast
import json
import os
import platform
import re
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from grader import timeouts
from grader.process import STDIN_SENTINEL, STDIN_SIGNAL_ENV, ChildProcess, child_env, has_traceback

ROOT = Path(__file__).resolve().parent.parent
LAUNCHER = ROOT / 'grader' / '_launch.py'
REFUSED_TEXT = '评分时只允许访问本机 127.0.0.1, 已拒绝'
#: The launcher's own EBADF text, as opposed to the system's.
CLOSED_MESSAGE = 'socket已被另一个线程关闭 / the socket was closed by another thread'
NOT_HERE = '192.0.2.1'  # TEST-NET-1: documentation only, never routed to anyone

windows_close_semantics = pytest.mark.skipif(
    os.name == 'nt', reason='Windows has these close() semantics natively: nothing to add')


class Run:
    """The outcome of one program run through the launcher."""

    def __init__(self, status, stdout, stderr, notes):
        self.status, self.stdout, self.stderr, self.notes = status, stdout, stderr, notes

    def notes_of(self, kind):
        return [note for note in self.notes if note['kind'] == kind]

    def __repr__(self):
        return 'exit %s\n--- stdout ---\n%s\n--- stderr ---\n%s\n--- notes ---\n%s' % (
            self.status, self.stdout, self.stderr, '\n'.join(map(repr, self.notes)))


def write_program(tmp_path, source, name='student.py'):
    path = tmp_path / name
    path.write_text(textwrap.dedent(source), encoding='utf-8')
    return path


def read_notes(path):
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding='utf-8').splitlines()]


def finish(child, notes_file):
    """Wait for the child's exit (failing with its output if it does not come); return a Run."""
    status = child.wait_exit(timeouts.EXIT)
    assert status is not None, 'the program did not exit:\n' + child.describe()
    child.drain()
    return Run(status, child.stdout.text, child.stderr.text, read_notes(notes_file))


def launch(program, *args, notes_file=None):
    env = {'SOCKET_LAB_NOTES': str(notes_file) if notes_file else ''}
    return ChildProcess([LAUNCHER, program] + [str(arg) for arg in args], env=env)


def run(tmp_path, source, *args):
    """Run ``source`` as a student program through the launcher, to its end."""
    program = write_program(tmp_path, source)
    notes_file = tmp_path / 'notes.jsonl'
    with launch(program, *args, notes_file=notes_file) as child:
        return finish(child, notes_file)


def line_of(source, marker):
    """The 1-based line of ``source`` (as written to disk) holding ``marker``."""
    lines = textwrap.dedent(source).splitlines()
    return next(number for number, line in enumerate(lines, 1) if marker in line)


@pytest.fixture
def listener():
    """A listening socket of the test on 127.0.0.1:0: the peer of a program that connects."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(('127.0.0.1', 0))
        sock.listen(8)
        sock.settimeout(timeouts.SOCKET)
        yield sock


def own_lan_address():
    """This machine's non-loopback IPv4 address, or None. A UDP connect only asks the routing
    table which source address it would use: no packet is sent."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect((NOT_HERE, 9))
            address = probe.getsockname()[0]
    except OSError:
        return None
    return None if address.startswith('127.') or address == '0.0.0.0' else address


# -- running the program ----------------------------------------------------------------

def test_program_sees_its_own_argv_path_and_name(tmp_path):
    write_program(tmp_path, 'GREETING = "hello from a sibling module"\n', name='helper.py')
    result = run(tmp_path, '''
        import json, os, sys
        import helper  # lives next to the program: found only if sys.path[0] is its folder
        print(json.dumps({
            'argv': sys.argv, 'path0': sys.path[0], 'name': __name__,
            'greeting': helper.GREETING,
            'paths': [os.path.realpath(entry or os.curdir) for entry in sys.path]}))
    ''', 'one', '二')
    assert result.status == 0, result
    seen = json.loads(result.stdout)
    assert seen['argv'] == [str(tmp_path / 'student.py'), 'one', '二']
    assert os.path.realpath(seen['path0']) == os.path.realpath(str(tmp_path))
    assert seen['name'] == '__main__'
    assert seen['greeting'] == 'hello from a sibling module'
    assert os.path.realpath(str(LAUNCHER.parent)) not in seen['paths']


def test_exit_status_of_sys_exit_passes_through(tmp_path):
    result = run(tmp_path, '''
        import sys
        print('bye')
        sys.exit(3)
    ''')
    assert (result.status, result.stdout, result.stderr) == (3, 'bye\n', '')


def test_traceback_shows_only_the_programs_frames(tmp_path):
    source = '''
        def divide(a, b):
            return a / b  # FAILS HERE

        def main():
            divide(1, 0)  # CALLED HERE

        main()  # STARTS HERE
    '''
    result = run(tmp_path, source)
    assert result.status == 1, result
    assert has_traceback(result.stderr), result
    frames = [line.strip() for line in result.stderr.splitlines()
              if line.strip().startswith('File ')]
    program = str(tmp_path / 'student.py')
    assert frames == [
        'File "%s", line %d, in <module>' % (program, line_of(source, 'STARTS HERE')),
        'File "%s", line %d, in main' % (program, line_of(source, 'CALLED HERE')),
        'File "%s", line %d, in divide' % (program, line_of(source, 'FAILS HERE')),
    ], result
    assert result.stderr.rstrip().endswith('ZeroDivisionError: division by zero'), result
    assert '_launch.py' not in result.stderr and 'runpy' not in result.stderr, result


def test_syntax_error_is_reported_in_the_usual_form(tmp_path):
    result = run(tmp_path, '''
        print('never runs')
        def broken(:
            pass
    ''')
    assert result.status == 1, result
    assert result.stdout == ''
    lines = result.stderr.rstrip('\n').splitlines()
    assert lines[0].strip() == 'File "%s", line 3' % (tmp_path / 'student.py'), result
    assert lines[1].strip() == 'def broken(:', result
    assert lines[2].strip().startswith('^'), result
    assert lines[-1].startswith('SyntaxError: '), result
    assert not has_traceback(result.stderr) and '_launch.py' not in result.stderr, result


def test_missing_program_is_one_clear_line_and_exit_2(tmp_path):
    missing = tmp_path / 'no_such_file.py'
    with launch(missing) as child:
        result = finish(child, tmp_path / 'notes.jsonl')
    assert result.status == 2, result
    assert result.stderr.count('\n') == 1, result
    assert '找不到' in result.stderr and 'no such program file' in result.stderr, result
    assert str(missing) in result.stderr, result


def test_without_a_notes_file_nothing_is_written(tmp_path):
    program = write_program(tmp_path, '''
        import socket
        with socket.socket() as sock:
            sock.bind(('0.0.0.0', 0))
            print(sock.getsockname()[0])
    ''')
    with launch(program) as child:  # SOCKET_LAB_NOTES is empty
        status = child.wait_exit(timeouts.EXIT)
        child.drain()
        assert (status, child.stdout.text) == (0, '127.0.0.1\n'), child.describe()
    assert sorted(path.name for path in tmp_path.iterdir()) == ['student.py']


# -- binding --------------------------------------------------------------------------

def test_bind_to_wildcard_or_own_name_lands_on_loopback_and_is_noted_once(tmp_path):
    result = run(tmp_path, '''
        import socket
        def bound_to(host):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((host, 0))
            return sock.getsockname()[0]
        print(bound_to('0.0.0.0'), bound_to(''), bound_to('0.0.0.0'))
        print(bound_to(socket.gethostbyname(socket.gethostname())))
        print(bound_to(socket.gethostbyname(socket.gethostname())))
        print(bound_to(socket.gethostname()))
    ''')
    assert result.status == 0, result
    assert result.stdout.split() == ['127.0.0.1'] * 6, result
    hostname = socket.gethostname()
    mapped = result.notes_of('address-mapped')
    assert {'kind': 'address-mapped', 'op': 'bind', 'host': '0.0.0.0', 'to': '127.0.0.1',
            'why': 'wildcard'} in mapped, result
    assert {'kind': 'address-mapped', 'op': 'bind', 'host': '', 'to': '127.0.0.1',
            'why': 'wildcard'} in mapped, result
    assert {'kind': 'address-mapped', 'op': 'bind', 'host': hostname, 'to': '127.0.0.1',
            'why': 'hostname'} in mapped, result
    assert result.notes_of('hostname-lookup') == [
        {'kind': 'hostname-lookup', 'call': 'gethostbyname', 'name': hostname}], result
    assert len(result.notes) == len(set(json.dumps(note) for note in result.notes)), result
    assert len(mapped) == 3, result


def test_bind_to_this_machines_lan_address_lands_on_loopback(tmp_path):
    address = own_lan_address()
    if address is None:
        pytest.skip('this machine has no non-loopback IPv4 address')
    result = run(tmp_path, '''
        import socket, sys
        sock = socket.socket()
        sock.bind((sys.argv[1], 0))
        print(sock.getsockname()[0])
    ''', address)
    assert (result.status, result.stdout) == (0, '127.0.0.1\n'), result
    assert result.notes == [{'kind': 'address-mapped', 'op': 'bind', 'host': address,
                             'to': '127.0.0.1', 'why': 'own-address'}], result


@pytest.mark.skipif(not socket.has_ipv6, reason='no IPv6 here')
def test_ipv6_wildcard_bind_lands_on_ipv6_loopback(tmp_path):
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(('::1', 0))
    except OSError:
        pytest.skip('::1 is not usable here')
    result = run(tmp_path, '''
        import socket
        sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        sock.bind(('::', 0))
        print(sock.getsockname()[0])
    ''')
    assert (result.status, result.stdout) == (0, '::1\n'), result
    assert result.notes == [{'kind': 'address-mapped', 'op': 'bind', 'host': '::', 'to': '::1',
                             'why': 'wildcard'}], result


def test_create_server_and_accept_hand_out_guarded_sockets(tmp_path):
    result = run(tmp_path, '''
        import socket
        server = socket.create_server(('', 0))
        print(server.getsockname()[0], type(server) is socket.socket)
        client = socket.create_connection((socket.gethostname(), server.getsockname()[1]))
        connection, _ = server.accept()
        print(type(connection) is socket.socket, repr(connection).startswith('<socket.socket fd='))
        client.sendall('你好'.encode('utf-8'))
        print(connection.recv(100).decode('utf-8'))
    ''')
    assert result.status == 0, result
    assert result.stdout.split() == ['127.0.0.1', 'True', 'True', 'True', '你好'], result
    assert {'kind': 'hostname-lookup', 'call': 'getaddrinfo',
            'name': socket.gethostname()} in result.notes, result


# -- connecting -------------------------------------------------------------------------

def test_connect_to_another_machine_is_refused_before_anything_is_sent(tmp_path):
    result = run(tmp_path, '''
        import socket, sys
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)  # a real attempt would say EINPROGRESS, not be refused
        try:
            sock.connect((sys.argv[1], 80))
        except PermissionError as error:
            print('errno', error.errno)
            print(error.strerror)
        # never attempted: a real connect (even a failed one) would have picked a local port
        print('local', sock.getsockname())
        print('connect_ex', socket.socket().connect_ex((sys.argv[1], 81)))
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            udp.sendto(b'x', (sys.argv[1], 53))
        except PermissionError as error:
            print('sendto refused', error.errno)
        print('udp local', udp.getsockname())
    ''', NOT_HERE)
    assert result.status == 0, result
    lines = result.stdout.splitlines()
    assert lines[0] == 'errno 13', result
    assert lines[1] == ('评分时只允许访问本机 127.0.0.1, 已拒绝 connect %s:80 / while grading only '
                        'loopback is allowed: connect to %s:80 refused' % (NOT_HERE, NOT_HERE)), result
    assert lines[2:] == ["local ('0.0.0.0', 0)", 'connect_ex 13', 'sendto refused 13',
                         "udp local ('0.0.0.0', 0)"], result
    assert result.notes == [
        {'kind': 'network-refused', 'op': 'connect', 'host': NOT_HERE, 'port': 80},
        {'kind': 'network-refused', 'op': 'connect', 'host': NOT_HERE, 'port': 81},
        {'kind': 'network-refused', 'op': 'sendto', 'host': NOT_HERE, 'port': 53},
    ], result


def test_socket_errors_in_threads_read_as_the_programs_own(tmp_path):
    result = run(tmp_path, '''
        import socket, sys, threading
        def refused_by_the_guard():
            socket.create_connection((sys.argv[1], 80))
        def refused_by_the_system():
            closed = socket.socket()
            closed.bind(('127.0.0.1', 0))  # bound, not listening: connecting is refused
            socket.socket().connect(closed.getsockname())
        for target in (refused_by_the_guard, refused_by_the_system):
            thread = threading.Thread(target=target)
            thread.start()
            thread.join()
    ''', NOT_HERE)
    assert result.status == 0, result
    assert result.stderr.count('Traceback (most recent call last)') == 2, result
    assert 'PermissionError: [Errno 13] ' + REFUSED_TEXT in result.stderr, result
    assert 'ConnectionRefusedError' in result.stderr, result
    assert '_launch.py' not in result.stderr, result


def test_connect_to_own_name_or_address_reaches_loopback(tmp_path, listener):
    address = own_lan_address()
    result = run(tmp_path, '''
        import socket, sys
        port = int(sys.argv[1])
        for host in sys.argv[2:]:
            sock = socket.socket()
            sock.connect((host, port))
            print(sock.getpeername()[0])
            sock.close()
    ''', listener.getsockname()[1], socket.gethostname(), *([address] if address else []))
    assert result.status == 0, result
    assert result.stdout.split() == ['127.0.0.1'] * (2 if address else 1), result
    expected = [{'kind': 'address-mapped', 'op': 'connect', 'host': socket.gethostname(),
                 'to': '127.0.0.1', 'why': 'hostname'}]
    if address:
        expected.append({'kind': 'address-mapped', 'op': 'connect', 'host': address,
                         'to': '127.0.0.1', 'why': 'own-address'})
    assert result.notes == expected, result


def test_udp_connect_trick_reports_loopback_as_my_address(tmp_path):
    result = run(tmp_path, '''
        import socket
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        probe.connect(('8.8.8.8', 80))
        print(probe.getsockname()[0], probe.getpeername())
    ''')
    assert (result.status, result.stdout) == (0, "127.0.0.1 ('127.0.0.1', 80)\n"), result
    assert result.notes == [{'kind': 'address-mapped', 'op': 'connect', 'host': '8.8.8.8',
                             'to': '127.0.0.1', 'why': 'udp-route-trick'}], result


def test_own_hostname_lookups_answer_loopback_and_are_noted_once_each(tmp_path):
    result = run(tmp_path, '''
        import socket
        name = socket.gethostname()
        print(socket.gethostbyname(name), socket.gethostbyname(name.upper()))
        print(socket.gethostbyname_ex(name))
        infos = socket.getaddrinfo(name, 80, socket.AF_INET, socket.SOCK_STREAM)
        print([info[4] for info in infos])
        print(socket.gethostbyname('localhost'))
    ''')
    assert result.status == 0, result
    name = socket.gethostname()
    assert result.stdout.splitlines() == [
        '127.0.0.1 127.0.0.1', repr((name, [], ['127.0.0.1'])), "[('127.0.0.1', 80)]",
        '127.0.0.1'], result
    expected = [{'kind': 'hostname-lookup', 'call': call, 'name': looked_up} for call, looked_up in (
        ('gethostbyname', name), ('gethostbyname', name.upper()), ('gethostbyname_ex', name),
        ('getaddrinfo', name))]
    if name == name.upper():  # the same lookup twice: noted once
        del expected[1]
    assert result.notes == expected, result


@pytest.mark.skipif(not hasattr(socket, 'AF_UNIX'), reason='no AF_UNIX here')
def test_unix_sockets_pass_untouched(tmp_path):
    result = run(tmp_path, '''
        import socket
        left, right = socket.socketpair()
        left.sendall(b'ping')
        print(right.recv(4).decode(), left.family == socket.AF_UNIX)
        left.close()
        print(repr(right.recv(4)))
    ''')
    assert (result.status, result.stdout, result.notes) == (0, "ping True\nb''\n", []), result


# -- close() while another thread is blocked in a receive --------------------------------

#: Linux numbers of the recvfrom system call (every receive method ends in it), by machine.
RECVFROM_SYSCALL = {'x86_64': 45, 'amd64': 45, 'aarch64': 207, 'arm64': 207}

CLOSE_UNDER_RECV = '''
    import platform, socket, sys, threading, time

    port, method, shut_first = int(sys.argv[1]), sys.argv[2], sys.argv[3] == 'shutdown'
    RECVFROM = RECVFROM_TABLE.get(platform.machine().lower())
    outcomes = []

    def receive(sock):
        try:
            if method in ('recv_into', 'recvfrom_into'):
                result = getattr(sock, method)(bytearray(1024))
            else:
                result = getattr(sock, method)(1024)
            outcomes.append('returned %r' % (result[0] if isinstance(result, tuple) else result,))
        except OSError as error:
            outcomes.append('raised errno %s: %s' % (error.errno, error.strerror))

    def inside_receive(sock, thread):
        """The launcher counts the call as in flight and, where Linux shows it, the thread
        sleeps in the recvfrom system call (not on its way there, waiting for the GIL)."""
        if getattr(sock, '_lab_receiving', 1) == 0:
            return False
        try:
            with open('/proc/self/task/%d/syscall' % thread.native_id) as status:
                return RECVFROM is None or status.read().split()[0] == str(RECVFROM)
        except (OSError, AttributeError, IndexError):
            return True  # not Linux: the launcher's count is all there is to go by

    threads = []
    for _ in range(2):  # two sockets closed at the same line: one note
        sock = socket.create_connection(('127.0.0.1', port))
        thread = threading.Thread(target=receive, args=(sock,))
        thread.start()
        deadline = time.monotonic() + 5
        while not inside_receive(sock, thread):
            if time.monotonic() > deadline:
                sys.exit('the receive thread never blocked in its receive call')
        if shut_first:
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()  # THE CLOSE
        threads.append(thread)
    for thread in threads:
        thread.join(5)
    for outcome in outcomes:
        print(outcome)
    print('alive:', sum(thread.is_alive() for thread in threads))
'''.replace('RECVFROM_TABLE', repr(RECVFROM_SYSCALL))


def can_see_threads_in_recvfrom():
    """True where CLOSE_UNDER_RECV can tell that its thread is blocked in the kernel (Linux with
    /proc/.../syscall on a known machine); elsewhere a receive may still be on its way in when
    close() comes, and then fails natively (EBADF) before it blocks."""
    return (platform.machine().lower() in RECVFROM_SYSCALL
            and hasattr(threading, 'get_native_id')
            and os.path.exists('/proc/self/task/%d/syscall' % threading.get_native_id()))


def close_under_recv(tmp_path, listener, method, shut_first):
    """Run CLOSE_UNDER_RECV against the test's listener; return (Run, what each peer saw)."""
    program = write_program(tmp_path, CLOSE_UNDER_RECV)
    notes_file = tmp_path / 'notes.jsonl'
    peers_saw = []
    with launch(program, listener.getsockname()[1], method,
                'shutdown' if shut_first else 'close', notes_file=notes_file) as child:
        for _ in range(2):
            try:
                connection, _ = listener.accept()
            except socket.timeout:
                pytest.fail('the program did not connect:\n' + child.describe())
            with connection:
                connection.settimeout(timeouts.SHORT)
                try:
                    peers_saw.append(connection.recv(1))  # b'' is the end of the connection
                except socket.timeout:
                    peers_saw.append('nothing (timed out)')
        started_waiting = time.monotonic()
        status = child.wait_exit(timeouts.EXIT)
        exited_after = time.monotonic() - started_waiting
        assert status is not None, 'the program hangs after close():\n' + child.describe()
        child.drain()
        result = Run(status, child.stdout.text, child.stderr.text, read_notes(notes_file))
    assert exited_after < timeouts.EXIT_BAR, result
    return result, peers_saw


@windows_close_semantics
@pytest.mark.parametrize('method', ['recv', 'recv_into', 'recvfrom', 'recvfrom_into'])
def test_close_wakes_a_blocked_receive_as_on_windows_and_is_noted(tmp_path, listener, method):
    result, peers_saw = close_under_recv(tmp_path, listener, method, shut_first=False)
    assert result.status == 0, result
    assert peers_saw == [b'', b''], result  # each peer saw the connection end (FIN)
    outcomes = result.stdout.splitlines()
    assert outcomes[-1] == 'alive: 0' and len(outcomes) == 3, result
    if can_see_threads_in_recvfrom():
        assert outcomes[:2] == ['raised errno 9: ' + CLOSED_MESSAGE] * 2, result
    else:  # raised, as on Windows (or EBADF for a call that had not reached the kernel)
        assert all(outcome.startswith('raised errno 9: ') for outcome in outcomes[:2]), result
    assert result.notes == [{'kind': 'close-wakes-recv', 'where': 'student.py:%d' % line_of(
        CLOSE_UNDER_RECV, 'THE CLOSE')}], result


@windows_close_semantics
def test_shutdown_before_close_is_left_alone_and_not_noted(tmp_path, listener):
    result, peers_saw = close_under_recv(tmp_path, listener, 'recv', shut_first=True)
    assert result.status == 0, result
    assert peers_saw == [b'', b''], result
    outcomes = result.stdout.splitlines()
    assert outcomes[-1] == 'alive: 0' and len(outcomes) == 3, result
    # The system's own behaviour, unchanged: the recv woken by shutdown() returns b''.
    if can_see_threads_in_recvfrom():
        assert outcomes[:2] == ["returned b''"] * 2, result
    else:  # (a call that had not reached the kernel yet fails natively on the closed socket)
        for outcome in outcomes[:2]:
            assert outcome == "returned b''" or (
                outcome.startswith('raised errno 9: ') and CLOSED_MESSAGE not in outcome), result
    assert result.notes == [], result


@windows_close_semantics
def test_close_with_no_receive_in_flight_changes_nothing(tmp_path, listener):
    result = run(tmp_path, '''
        import socket, sys
        sock = socket.create_connection(('127.0.0.1', int(sys.argv[1])))
        sock.close()
        try:
            sock.recv(10)
        except OSError as error:
            print('errno', error.errno)
    ''', listener.getsockname()[1])
    assert (result.status, result.stdout, result.notes) == (0, 'errno 9\n', []), result


# -- reads of stdin, announced ------------------------------------------------------------

def launch_signalling(program, *args):
    """The program through the launcher with its reads of stdin announced, as the grader runs it."""
    env = {'SOCKET_LAB_NOTES': '', STDIN_SIGNAL_ENV: '1'}
    return ChildProcess([LAUNCHER, program] + [str(arg) for arg in args], env=env)


def test_the_variables_that_cross_into_the_launcher_are_named_once():
    """Every SOCKET_LAB_* name is spelled in grader/_launch_env.py alone; the rest of the
    grader (and the launcher, which runs that file by path) use its constants."""
    spelled = {}
    for path in sorted((ROOT / 'grader').rglob('*.py')):
        for node in ast.walk(ast.parse(path.read_text(encoding='utf-8'))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and re.fullmatch(r'SOCKET_LAB_[A-Z_]+', node.value):
                spelled.setdefault(path.name, set()).add(node.value)
    assert list(spelled) == ['_launch_env.py'], spelled
    assert STDIN_SIGNAL_ENV == 'SOCKET_LAB_STDIN_SIGNAL'
    assert b'\0' in STDIN_SENTINEL  # never in text output


def raw_stdout(tmp_path, source, lines, signal):
    """Run ``source`` through the launcher on plain pipes and return its stdout, bytes as they
    came. With ``signal``, each of ``lines`` is typed once the program waits for it (one more
    sentinel in stdout); without it, they are all typed at once."""
    program = write_program(tmp_path, source)
    env = child_env()
    env.pop(STDIN_SIGNAL_ENV, None)
    if signal:
        env[STDIN_SIGNAL_ENV] = '1'
    proc = subprocess.Popen([sys.executable, '-u', str(LAUNCHER), str(program)], env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    got, changed = bytearray(), threading.Condition()

    def pump():
        for data in iter(lambda: proc.stdout.read1(4096), b''):
            with changed:
                got.extend(data)
                changed.notify_all()

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        for number, line in enumerate(lines, 1):
            if signal:
                with changed:
                    assert changed.wait_for(lambda: got.count(STDIN_SENTINEL) >= number,
                                            timeouts.SHORT), bytes(got)
            proc.stdin.write(line.encode('utf-8') + b'\n')
            proc.stdin.flush()
        proc.stdin.close()
        assert proc.wait(timeouts.EXIT) == 0
        reader.join(timeouts.SHORT)
        return bytes(got)
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()


ASK_TWICE = """
    print('ask 1')
    first = input()
    print('got', first)
    print('ask 2')
    second = input()
    print('got', second)
"""


def test_the_sentinel_is_written_just_before_each_read_in_the_stdout_stream(tmp_path):
    out = raw_stdout(tmp_path, ASK_TWICE, ['one', 'two'], signal=True)
    assert out == (b'ask 1\n' + STDIN_SENTINEL + b'got one\nask 2\n' + STDIN_SENTINEL
                   + b'got two\n')


def test_without_the_variable_no_sentinel_is_written(tmp_path):
    out = raw_stdout(tmp_path, ASK_TWICE, ['one', 'two'], signal=False)
    assert out == b'ask 1\ngot one\nask 2\ngot two\n'


READ_STYLES = {
    'input': 'def read():\n    return input()\n',
    'readline': 'def read():\n    return sys.stdin.readline()\n',
    'for-line-in-stdin': '_lines = iter(sys.stdin)\ndef read():\n    return next(_lines)\n',
    'buffer-readline': 'def read():\n    return sys.stdin.buffer.readline().decode("utf-8")\n',
    'os-read': 'def read():\n    return os.read(0, 100).decode("utf-8")\n',
    # a file of the program's own on fd 0, text and binary, buffered and not
    'open-0': '_own = open(0, encoding="utf-8")\ndef read():\n    return _own.readline()\n',
    'open-0-binary': '_own = open(0, "rb")\ndef read():\n    return _own.readline().decode("utf-8")\n',
    'open-0-unbuffered': ('_own = open(0, "rb", buffering=0)\n'
                          'def read():\n    return _own.read(100).decode("utf-8")\n'),
    'os-fdopen': ('_own = os.fdopen(0, encoding="utf-8", closefd=False)\n'
                  'def read():\n    return _own.readline()\n'),
    # the program's own stdout, buffered: the launcher flushes it before it announces a read
    'buffered-stdout': ('sys.stdout = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8")\n'
                        'def read():\n    return sys.stdin.readline()\n'),
}

ASK_AND_READ_TWICE = """
print('ask 1')
print('got', read().strip())
print('ask 2')
print('got', read().strip())
sys.stdout.flush()
"""


@pytest.mark.parametrize('style', sorted(READ_STYLES))
def test_every_way_of_reading_stdin_is_announced_where_the_program_waits(tmp_path, style):
    program = write_program(tmp_path, 'import io, os, sys\n' + READ_STYLES[style]
                            + ASK_AND_READ_TWICE)
    with launch_signalling(program) as child:
        first = child.wait_read(0)
        assert child.stdout.text[:first] == 'ask 1\n', child.describe()
        child.write_line('one')
        second = child.wait_read(1)
        assert child.stdout.text[:second] == 'ask 1\ngot one\nask 2\n', child.describe()
        child.write_line('二')
        assert child.wait_exit(timeouts.EXIT) == 0, child.describe()
        child.drain()
        assert child.stdout.text == 'ask 1\ngot one\nask 2\ngot 二\n', child.describe()
        assert child.stdout.read_requests == [first, second]


def test_end_of_input_still_raises_eoferror_and_is_announced_once(tmp_path):
    program = write_program(tmp_path, '''
        import sys
        for _ in range(3):
            try:
                input()
            except EOFError:
                print('EOFError')
        print(repr(sys.stdin.read()), repr(sys.stdin.buffer.read()))
    ''')
    with launch_signalling(program) as child:
        child.close_stdin()
        assert child.wait_exit(timeouts.EXIT) == 0, child.describe()
        child.drain()
        assert child.stdout.text == "EOFError\nEOFError\nEOFError\n'' b''\n", child.describe()
        # At end of input a read returns at once: only the first one could have waited.
        assert child.stdout.read_count == 1


STDIN_AS_BEFORE = '''
    import os, sys
    stdin = sys.stdin
    print(type(stdin).__name__, type(stdin.buffer).__name__, stdin.encoding, stdin.errors,
          stdin.name, stdin.mode, stdin.buffer.mode, stdin.isatty(), stdin.buffer.raw.isatty(),
          stdin.fileno(), stdin.readable(), stdin.seekable(), stdin.line_buffering,
          sys.__stdin__ is stdin)
    print(repr(input()), repr(stdin.readline()), repr(stdin.buffer.readline()),
          repr(stdin.read()))
    stdin.close()
    os.fstat(0)  # fd 0 itself stays open, as Python's own sys.stdin leaves it
    print(stdin.closed, 'fd 0 open')
'''


OPEN_0_AS_BEFORE = '''
    import io, os
    text = open(0, encoding='utf-8')
    binary = os.fdopen(0, 'rb', closefd=False)
    raw = io.open(0, 'rb', buffering=0, closefd=False)
    print(type(text).__name__, type(text.buffer).__name__, text.name, text.mode,
          type(binary).__name__, binary.name, binary.mode, type(raw).__name__ == 'FileIO'
          or raw.readable(), text.fileno(), text.readable(), text.seekable())
    print(repr(text.readline()), repr(text.read()))
    try:
        open(0, 'r', buffering=0)
    except ValueError as error:
        print('ValueError', error)
    with open(os.devnull, 'w') as other:   # any other open is the real one
        print(type(other).__name__, other.name == os.devnull)
'''


def without_and_with_the_signal(tmp_path, source, typed):
    """The output of ``source`` run by the launcher on ``typed`` (then end of input), first
    without the reads announced and then with them."""
    program = write_program(tmp_path, source)
    outputs = []
    for env in ({'SOCKET_LAB_NOTES': ''}, {'SOCKET_LAB_NOTES': '', STDIN_SIGNAL_ENV: '1'}):
        with ChildProcess([LAUNCHER, program], env=env) as child:
            child.write_line(typed)
            child.close_stdin()
            assert child.wait_exit(timeouts.EXIT) == 0, child.describe()
            child.drain()
            outputs.append(child.stdout.text)
    return outputs


def test_a_file_of_its_own_on_fd_0_behaves_as_pythons_own(tmp_path):
    outputs = without_and_with_the_signal(tmp_path, OPEN_0_AS_BEFORE, '中文\nrest')
    assert outputs[0] == outputs[1]
    assert outputs[0].startswith('TextIOWrapper BufferedReader 0 r BufferedReader 0 rb True 0 '
                                 'True False\n'), outputs[0]
    assert "'中文\\n' 'rest\\n'\nValueError can't have unbuffered text I/O\n" in outputs[0]
    assert outputs[0].endswith('TextIOWrapper True\n')


def test_the_announcing_stdin_behaves_as_pythons_own(tmp_path):
    outputs = without_and_with_the_signal(tmp_path, STDIN_AS_BEFORE, 'a\r\nb\n中文\nlast\nrest')
    assert outputs[0] == outputs[1]
    assert outputs[0].startswith('TextIOWrapper BufferedReader utf-8 strict <stdin> r rb ')
    assert ' False False 0 True False False True\n' in outputs[0]
    assert outputs[0].endswith('True fd 0 open\n')
