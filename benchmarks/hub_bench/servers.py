"""The servers under test, each a child process: our hub (``python -m classroom.hub_server``,
or ``--hub-program``), its port read from its log, and ``ncat --chat`` on a free port."""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from .common import LOOPBACK, MAX_TURNS, fail

#: The repository: the servers run from there, so that ``-m classroom.hub_server`` is found.
ROOT = Path(__file__).resolve().parent.parent.parent
#: Our hub, run as ``python -m HUB_MODULE``.
HUB_MODULE = 'classroom.hub_server'
#: Waiting for a server to listen, or to exit once told to.
START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0


class ServerProcess:
    """A server as a child process; a thread collects its stderr (a full pipe would stall it)."""

    def __init__(self, argv, server_cpu, niceness=0, realtime=0):
        if server_cpu is not None and shutil.which('taskset'):
            argv = ['taskset', '-c', str(server_cpu)] + argv
        self.argv = argv
        self.lines = []
        self._changed = threading.Condition()
        self.process = subprocess.Popen(argv, cwd=str(ROOT), stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if server_cpu is not None and not shutil.which('taskset'):
            os.sched_setaffinity(self.process.pid, {server_cpu})
        if niceness:
            os.setpriority(os.PRIO_PROCESS, self.process.pid, niceness)
        if realtime:
            os.sched_setscheduler(self.process.pid, os.SCHED_FIFO, os.sched_param(realtime))
        self._reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._reader.start()

    @property
    def pid(self):
        return self.process.pid   # taskset execs the server: same pid

    def _read_stderr(self):
        for raw in self.process.stderr:
            with self._changed:
                self.lines.append(raw.decode('utf-8', 'replace').rstrip('\n'))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def wait_for_line(self, pattern, timeout):
        """The first stderr line matching ``pattern`` (a compiled regex), or None in time."""
        deadline = time.monotonic() + timeout
        with self._changed:
            for _ in range(MAX_TURNS):
                for line in self.lines:
                    if pattern.search(line):
                        return line
                left = deadline - time.monotonic()
                if left <= 0 or self.process.poll() is not None:
                    return None
                self._changed.wait(left)
        return None

    def stop(self, sig=signal.SIGINT):
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(STOP_TIMEOUT)
        self._reader.join(STOP_TIMEOUT)


LISTENING = re.compile(r'listening on [^ ]+:(\d+)')


def start_our_hub(max_clients, server_cpu, program=None, niceness=0, realtime=0):
    # Every client comes from 127.0.0.1: our hub's cap per address (--max-per-ip) is off.
    own = [] if program else ['--max-per-ip', '0']
    program = program or [sys.executable, '-m', HUB_MODULE]
    server = ServerProcess(program + ['--host', LOOPBACK, '--port', '0', '--quiet',
                                      '--max-clients', str(max_clients)] + own, server_cpu,
                           niceness, realtime)
    line = server.wait_for_line(LISTENING, START_TIMEOUT)
    if line is None:
        server.stop()
        fail('%s did not log "listening on" within %.0f s; its stderr: %r'
             % (' '.join(program), START_TIMEOUT, server.lines[-5:]), 1)
    return server, int(LISTENING.search(line).group(1))


def free_port():
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def is_listening(port):
    """True once /proc/net/tcp shows a LISTEN socket on 127.0.0.1:port (no probe connection:
    ncat would count it as a chat client)."""
    wanted = '0100007F:%04X' % port
    with open('/proc/net/tcp') as table:
        for line in table:
            fields = line.split()
            if len(fields) > 3 and fields[1] == wanted and fields[3] == '0A':
                return True
    return False


def start_ncat(max_clients, server_cpu, program=None, niceness=0, realtime=0):
    port = free_port()
    server = ServerProcess(['ncat', '-l', LOOPBACK, str(port), '--chat',
                            '--max-conns', str(max_clients)], server_cpu, niceness, realtime)
    deadline = time.monotonic() + START_TIMEOUT
    for _ in range(int(START_TIMEOUT / 0.01) + 1):
        if is_listening(port):
            return server, port
        if server.process.poll() is not None or time.monotonic() > deadline:
            break
        time.sleep(0.01)   # polling a table the kernel keeps; nothing to wait on instead
    server.stop(signal.SIGTERM)
    fail('ncat did not listen on %s:%d within %.0f s; its stderr: %r'
         % (LOOPBACK, port, START_TIMEOUT, server.lines[-5:]), 1)
