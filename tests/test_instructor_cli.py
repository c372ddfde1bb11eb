"""The command line both instructor servers share, run as real processes (``python -m ...``)."""
import errno
import os
import re
import signal
import socket
import subprocess
import sys
import time
import types

import pytest

from grader import timeouts
from classroom import echo_server, hub_server
from classroom import cli
from classroom.cli import describe_listen_error
from tests.conftest import ROOT

SERVERS = [
    pytest.param('classroom.echo_server', echo_server.FULL_NOTICE, id='echo'),
    pytest.param('classroom.hub_server', hub_server.FULL_NOTICE, id='hub'),
]

#: ``2026-11-26 16:30:01 hub server listening on 127.0.0.1:43777 (at most 200 clients)``
STAMPED = r'^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d '

posix_signals = pytest.mark.skipif(os.name == 'nt', reason='POSIX signals')


@pytest.fixture
def start(spawn):
    """``start(module, *args)``: ``python -m module args``; killed at teardown if still running."""
    return lambda module, *args: spawn("-m", module, *args)


@pytest.fixture
def connect(peers):
    return peers.connect


def log_lines(server):
    """The server's log so far (stderr), a line each."""
    return server.stderr.text.splitlines()


def wait_for_line(server, pattern):
    server.wait_for(re.compile(pattern, re.M), stream="stderr")


def wait_exit(server):
    """Wait for the exit and for all output; returns ``(status, seconds waited)``."""
    started = time.monotonic()
    status = server.wait_exit(timeouts.EXIT)
    waited = time.monotonic() - started
    assert status is not None, "the server did not exit\n" + server.describe()
    server.drain()
    return status, waited


@pytest.mark.parametrize('module, notice', SERVERS)
def test_port_0_logs_the_port_it_got_and_serves_on_it(instructor_server, connect, module, notice):
    server, port = instructor_server(module)
    assert port != 0
    assert re.match(STAMPED + r'(echo|hub) server listening on 127\.0\.0\.1:%d ' % port,
                    log_lines(server)[0]), log_lines(server)
    client = connect(port)
    wait_for_line(server, STAMPED + re.escape('%s joined; 1 online' % client.addr))


@pytest.mark.parametrize('module, notice', SERVERS)
def test_help_says_who_can_reach_the_default_host(module, notice):
    done = subprocess.run([sys.executable, '-m', module, '--help'], cwd=str(ROOT),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, encoding='utf-8', timeout=timeouts.EXIT)
    assert done.returncode == 0
    text = ' '.join(done.stdout.split())   # argparse wraps lines anywhere
    for words in ('0.0.0.0', 'classroom', '--host 127.0.0.1', 'local'):
        assert words in text, done.stdout


@pytest.mark.parametrize('module, notice', SERVERS)
def test_busy_port_is_one_clear_line_and_status_1(start, module, notice):
    with socket.socket() as blocker:
        blocker.bind(('127.0.0.1', 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        server = start(module, '--host', '127.0.0.1', '--port', str(port))
        status, _ = wait_exit(server)
    assert status == 1
    assert len(log_lines(server)) == 1, log_lines(server)
    assert re.match(STAMPED + 'error: port %d is already in use' % port, log_lines(server)[0])


@pytest.mark.parametrize('module, notice', SERVERS)
def test_host_that_is_not_ours_is_one_clear_line_and_status_1(start, module, notice):
    server = start(module, '--host', '192.0.2.1', '--port', '0')   # TEST-NET-1, nobody's
    status, _ = wait_exit(server)
    assert status == 1
    assert len(log_lines(server)) == 1, log_lines(server)
    assert 'error: cannot listen on 192.0.2.1:0' in log_lines(server)[0]


@posix_signals
@pytest.mark.parametrize('signal_name', ['SIGINT', 'SIGTERM'])
@pytest.mark.parametrize('module, notice', SERVERS)
def test_signal_stops_cleanly_within_the_exit_bar(instructor_server, connect, module, notice,
                                                  signal_name):
    server, port = instructor_server(module)
    client = connect(port)
    wait_for_line(server, re.escape('%s joined; 1 online' % client.addr))
    server.proc.send_signal(getattr(signal, signal_name))
    status, waited = wait_exit(server)
    assert status == 0, server.stderr.text
    assert waited < timeouts.EXIT_BAR
    assert 'Traceback' not in server.stderr.text
    assert re.match(STAMPED + re.escape('stopped (%s); 1 connections closed' % signal_name),
                    log_lines(server)[-1]), log_lines(server)
    client.wait_for_eof()


@pytest.mark.parametrize('module, notice', SERVERS)
def test_newcomer_beyond_max_clients_is_told_and_closed(instructor_server, connect, module, notice):
    server, port = instructor_server(module, '--max-clients', '1', '--quiet')
    first = connect(port)
    if module == 'classroom.echo_server':
        first.send('hi')
        first.wait_for('收到: hi')    # answered, so counted
    # (the hub counts `first` before `late` anyway: it handles connections in accept order)
    late = connect(port)
    late.wait_for_eof()
    assert bytes(late.received) == notice.format(max_clients=1).encode('utf-8')
    wait_for_line(server, re.escape('%s refused: room full (1/1 online)' % late.addr))
    assert 'joined' not in server.stderr.text, '--quiet leaves joins out'


@pytest.mark.parametrize('error, expected', [
    (OSError(errno.EADDRINUSE, 'in use'), 'error: port 10001 is already in use on 0.0.0.0'),
    (OSError(10048, 'in use (Windows)'), 'error: port 10001 is already in use on 0.0.0.0'),
    (OSError(errno.EACCES, 'denied'), 'error: not permitted to listen on 0.0.0.0:10001'),
    (OSError(10013, 'denied (Windows)'), 'error: not permitted to listen on 0.0.0.0:10001'),
    (OSError(errno.EADDRNOTAVAIL, 'not here'),
     'error: cannot listen on 0.0.0.0:10001: 0.0.0.0 is not an address of this computer'),
    (socket.gaierror(-2, 'Name or service not known'),
     'error: cannot listen on 0.0.0.0:10001: unknown host address (Name or service not known)'),
    (OSError(errno.EMFILE, 'Too many open files'),
     'error: cannot listen on 0.0.0.0:10001: [Errno %d] Too many open files' % errno.EMFILE),
])
def test_listen_errors_read_as_one_line_saying_what_to_do(error, expected):
    line = describe_listen_error(error, '0.0.0.0', 10001)
    assert line.startswith(expected)
    assert '\n' not in line


def test_lan_addresses_leave_out_loopback_and_repeats(monkeypatch):
    def fake_getaddrinfo(host, port, family=0, type=0):
        return [(family, type, 6, '', (address, 0))
                for address in ('127.0.1.1', '10.0.3.17', '10.0.3.17', '192.168.1.20')]

    monkeypatch.setattr(cli.socket, 'getaddrinfo', fake_getaddrinfo)
    assert cli.lan_addresses() == ['10.0.3.17', '192.168.1.20']

    def no_name(*args):
        raise socket.gaierror(-2, 'Name or service not known')

    monkeypatch.setattr(cli.socket, 'getaddrinfo', no_name)
    assert cli.lan_addresses() == []


def test_listening_on_every_interface_names_the_addresses_students_type_in(monkeypatch):
    monkeypatch.setattr(cli, 'lan_addresses', lambda: ['10.0.3.17', '192.168.1.20'])
    lines = []
    cli._log_where_students_connect(types.SimpleNamespace(host='0.0.0.0', port=10001), lines.append)
    assert lines == ['students connect to 10.0.3.17 or 192.168.1.20, port 10001']
    del lines[:]
    cli._log_where_students_connect(types.SimpleNamespace(host='127.0.0.1', port=10001), lines.append)
    assert lines == [], 'a local server names no LAN address'
