"""What the hub's projected view costs: the hub's CPU with a page open, and whether the
page shows every message (issue 15, item 4).

    python -m benchmarks.hub_web_bench                          # 200 clients, 1 msg/s, 30 s
    python -m benchmarks.hub_web_bench --clients 50 --duration 5
    python -m benchmarks.hub_web_bench --screenshot docs/hub-web-view.png

Two runs of the same chat, one after the other, each against a fresh hub as a child
process (``python -m classroom.hub_server --host 127.0.0.1 --port 0 --quiet --max-per-ip 0``):
first without ``--web``, then with ``--web 0`` and the page open in headless Chromium
(Debian's ``chromium``, driven over the DevTools protocol by ``HeadlessChromium``). In
each, ``--clients`` clients join, then each sends one message a second (spread evenly,
``[c.n]`` padded to ``--size`` bytes) for ``--duration`` seconds while every client reads
everything. Measured: the hub's CPU over the chat (utime+stime from ``/proc/PID/stat``)
per run and their ratio; with the page, whether it showed every message: the page
counts the messages it was handed and any gap in the events' numbers (``window.roomView``).
The bar (issue 15): at most 20 % more CPU with the page open, and no message missing.

Linux only (``/proc``); needs aiohttp (the ``web`` extra) and ``chromium``. Loopback only;
every wait has a deadline and every loop a count. Prints a table and one JSON line.
On a shared machine the CPU figures move with the load; ``--repeat`` alternates runs.

``HeadlessChromium`` is also what ``tests/test_hub_web_view.py`` drives the page with.
"""
import argparse
import asyncio
import base64
import heapq
import json
import os
import re
import selectors
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.hub_bench.stats import read_proc_cpu   # noqa: E402

LOOPBACK = '127.0.0.1'
#: Waiting for Chromium to start, a page to load, a condition in the page.
BROWSER_TIMEOUT = 20.0
#: Waiting for a hub to listen and for a crowd to be registered.
START_TIMEOUT = 20.0
#: The acceptance bar: the page may cost the hub this much more CPU.
CPU_BAR = 1.20
#: Upper bound on any loop of this script.
MAX_TURNS = 10 ** 7

_DEVTOOLS = re.compile(r'DevTools listening on (ws://\S+)')
_LISTENING = re.compile(r'hub server listening on [^ ]+:(\d+)')
_WEB = re.compile(r'web view of the room on http://[^:]+:(\d+)/')


def chromium_path():
    for name in ('chromium', 'chromium-browser', 'google-chrome'):
        found = shutil.which(name)
        if found:
            return found
    return None


class _LineWatcher(threading.Thread):
    """Collects a child's stderr lines (a full pipe would stall it) for ``wait_for``."""

    def __init__(self, stream):
        super().__init__(daemon=True)
        self.stream = stream
        self.lines = []
        self.changed = threading.Condition()

    def run(self):
        for raw in self.stream:
            with self.changed:
                self.lines.append(raw.decode('utf-8', 'replace').rstrip('\n'))
                self.changed.notify_all()
        with self.changed:
            self.changed.notify_all()

    def wait_for(self, pattern, timeout, alive=lambda: True):
        deadline = time.monotonic() + timeout
        with self.changed:
            for _ in range(MAX_TURNS):
                for line in self.lines:
                    found = pattern.search(line)
                    if found:
                        return found
                left = deadline - time.monotonic()
                if left <= 0 or not alive():
                    return None
                self.changed.wait(min(left, 0.5))
        return None


class HeadlessChromium:
    """Debian's chromium, headless, driven over the DevTools protocol (aiohttp's WebSocket
    client): open a page, evaluate JavaScript in it, wait for a condition, screenshot.

    A context manager; the browser and its profile folder go away at exit. Synchronous:
    it runs its own event loop, so call it from a thread that has none.
    """

    def __init__(self, width=1280, height=800, timeout=BROWSER_TIMEOUT):
        self.width, self.height, self.timeout = width, height, timeout
        self.profile = tempfile.mkdtemp(prefix='hub-web-chromium-')
        self.loop = asyncio.new_event_loop()
        self.process = None
        self._session = self._ws = None
        self._next_id = 0

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.close()

    def start(self):
        path = chromium_path()
        if path is None:
            raise RuntimeError('chromium is not installed (apt-get install chromium)')
        argv = [path, '--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run',
                '--disable-extensions', '--disable-background-networking',
                '--remote-debugging-address=127.0.0.1', '--remote-debugging-port=0',
                '--user-data-dir=' + self.profile,
                '--window-size=%d,%d' % (self.width, self.height), 'about:blank']
        self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        watcher = _LineWatcher(self.process.stderr)
        watcher.start()
        found = watcher.wait_for(_DEVTOOLS, self.timeout, lambda: self.process.poll() is None)
        if found is None:
            self.close()
            raise RuntimeError('chromium did not start its DevTools server within %.0f s: %r'
                               % (self.timeout, watcher.lines[-5:]))
        port = int(re.search(r':(\d+)/', found.group(1)).group(1))
        self.loop.run_until_complete(self._attach(port))

    async def _attach(self, port):
        import aiohttp
        self._session = aiohttp.ClientSession()
        async with self._session.get('http://127.0.0.1:%d/json/list' % port) as answer:
            targets = await answer.json()
        page = next(target for target in targets if target.get('type') == 'page')
        self._ws = await self._session.ws_connect(page['webSocketDebuggerUrl'],
                                                  max_msg_size=64 * 1024 * 1024)

    def _call(self, method, **params):
        return self.loop.run_until_complete(
            asyncio.wait_for(self._request(method, params), self.timeout))

    async def _request(self, method, params):
        self._next_id += 1
        wanted = self._next_id
        await self._ws.send_json({'id': wanted, 'method': method, 'params': params})
        for _ in range(MAX_TURNS):
            message = await self._ws.receive_json()
            if message.get('id') == wanted:
                if 'error' in message:
                    raise RuntimeError('%s: %s' % (method, message['error']))
                return message.get('result', {})
        raise RuntimeError('no answer to %s' % method)

    def open(self, url):
        """Load ``url`` and wait until its document is complete."""
        self._call('Page.enable')
        self._call('Page.navigate', url=url)
        return self.wait_until('document.readyState === "complete"')

    def evaluate(self, expression):
        """The value of a JavaScript expression in the page (JSON-able)."""
        result = self._call('Runtime.evaluate', expression=expression, returnByValue=True,
                            awaitPromise=True)
        if 'exceptionDetails' in result:
            raise RuntimeError('%s: %s' % (expression, result['exceptionDetails']))
        return result['result'].get('value')

    def wait_until(self, condition, timeout=None):
        """Wait, inside the page (a promise that checks on each animation frame), until the
        JavaScript ``condition`` is true; returns True, or False at the deadline."""
        timeout = self.timeout if timeout is None else timeout
        script = '''new Promise(function (done) {
            var until = Date.now() + %d;
            function look() {
                var ok = false;
                try { ok = !!(%s); } catch (e) { ok = false; }
                if (ok || Date.now() > until) { done(ok); } else { setTimeout(look, 20); }
            }
            look();
        })''' % (int(timeout * 1000), condition)
        result = self.loop.run_until_complete(asyncio.wait_for(self._request(
            'Runtime.evaluate', {'expression': script, 'returnByValue': True,
                                 'awaitPromise': True}), timeout + self.timeout))
        return bool(result.get('result', {}).get('value'))

    def screenshot(self, path):
        data = self._call('Page.captureScreenshot', format='png')['data']
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_bytes(base64.b64decode(data))
        return path

    def close(self):
        if self._session is not None:
            self.loop.run_until_complete(self._session.close())
            self._session = None
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.loop.close()
        shutil.rmtree(self.profile, ignore_errors=True)


# ---------------------------------------------------------------------------------------
# The load: a hub as a child process, a room of clients chatting at a steady rate


class Hub:
    """Our hub as a child process; with ``web``, its web view on a free port too."""

    def __init__(self, web, max_clients):
        argv = [sys.executable, '-m', 'classroom.hub_server', '--host', LOOPBACK, '--port',
                '0', '--quiet', '--max-per-ip', '0', '--max-clients', str(max_clients)]
        if web:
            argv += ['--web', '0']
        self.process = subprocess.Popen(argv, cwd=str(ROOT), stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.watcher = _LineWatcher(self.process.stderr)
        self.watcher.start()
        alive = lambda: self.process.poll() is None   # noqa: E731
        found = self.watcher.wait_for(_LISTENING, START_TIMEOUT, alive)
        self.web_port = None
        if found and web:
            web_found = self.watcher.wait_for(_WEB, START_TIMEOUT, alive)
            self.web_port = int(web_found.group(1)) if web_found else None
        if found is None or (web and self.web_port is None):
            self.stop()
            raise RuntimeError('the hub did not start: %r' % self.watcher.lines[-5:])
        self.port = int(found.group(1))

    def cpu_ticks(self):
        return read_proc_cpu(self.process.pid)[0]

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(2)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def connect_room(port, count):
    """``count`` connected, non-blocking sockets, each registered by the hub (client 0
    sees a join notice for every other)."""
    socks = []
    for _ in range(count):
        sock = socket.create_connection((LOOPBACK, port), timeout=START_TIMEOUT)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        socks.append(sock)
    notice = '加入了聊天室'.encode('utf-8')
    seen = b''
    deadline = time.monotonic() + START_TIMEOUT
    socks[0].settimeout(1.0)
    for _ in range(MAX_TURNS):
        if seen.count(notice) >= count - 1 or time.monotonic() > deadline:
            break
        try:
            seen += socks[0].recv(65536)
        except socket.timeout:
            continue
    if seen.count(notice) < count - 1:
        raise RuntimeError('only %d of %d clients registered' % (seen.count(notice) + 1, count))
    for sock in socks:
        sock.setblocking(False)
    return socks


def chat(socks, rate, duration, size):
    """Each socket sends ``rate`` messages a second for ``duration`` s, spread evenly over
    the room; every socket reads all the time. Returns (messages sent, bytes read)."""
    count = len(socks)
    interval = 1.0 / rate
    start = time.monotonic() + 0.2
    end = start + duration
    due = [(start + interval * index / count, index, 0) for index in range(count)]
    heapq.heapify(due)
    selector = selectors.DefaultSelector()
    for sock in socks:
        selector.register(sock, selectors.EVENT_READ)
    sent = received = 0
    for _ in range(MAX_TURNS):
        now = time.monotonic()
        while due and due[0][0] <= now:
            at, index, number = heapq.heappop(due)
            message = ('[%d.%d]' % (index, number)).encode().ljust(size, b'-')
            try:
                socks[index].send(message)
                sent += 1
            except BlockingIOError:
                pass   # the hub is reading less from this one: the message is skipped
            if at + interval < end:
                heapq.heappush(due, (at + interval, index, number + 1))
        if not due and now > end + 1.0:
            break
        wait = min(0.01, max(0.0, due[0][0] - now)) if due else 0.05
        for key, _ in selector.select(wait):
            try:
                data = key.fileobj.recv(262144)
            except (BlockingIOError, ConnectionError):
                continue
            received += len(data)
    selector.close()
    return sent, received


def one_run(web, args, browser=None, screenshot=None):
    hub = Hub(web, args.clients + 10)
    try:
        socks = connect_room(hub.port, args.clients)
        if web:
            url = 'http://%s:%d/' % (LOOPBACK, hub.web_port)
            browser.open(url)
            if not browser.wait_until('window.roomView && window.roomView.live'):
                raise RuntimeError('the page did not go live')
            before_page = browser.evaluate('window.roomView.messages')
        before = hub.cpu_ticks()
        started = time.monotonic()
        sent, received = chat(socks, args.rate, args.duration, args.size)
        took = time.monotonic() - started
        ticks = hub.cpu_ticks() - before
        result = {'web': web, 'sent': sent, 'bytes_read': received,
                  'hub_cpu_s': ticks / os.sysconf('SC_CLK_TCK'), 'seconds': took}
        if web:
            expected = before_page + sent
            browser.wait_until('window.roomView.messages >= %d' % expected, timeout=10.0)
            view = browser.evaluate('window.roomView')
            result.update(page_messages=view['messages'] - before_page, page_gaps=view['gaps'],
                          page_snapshots=view['snapshots'])
            if screenshot:
                browser.screenshot(screenshot)
        for sock in socks:
            sock.close()
        return result
    finally:
        hub.stop()


DEMO_CHAT = [
    (0, '大家好! 今天我们做 socket 实验 \U0001f600'),
    (1, '老师好, 我的客户端连上了'),
    (2, 'hello everyone, 我用的是 Windows'),
    (1, '\x1b[2J\x1b]0;pwned\x07 (an escape sequence: shown, not obeyed)'),
    (3, '<script>alert("hi")</script> is text here, not code'),
    (2, "line one\n('127.0.0.1', 9999) : a forged second line stays in its sender's entry"),
    (0, '收到, 下课前请大家输入 q 退出 \U0001f44b'),
]


def demo_screenshot(path):
    """A small class chatting (Chinese, emoji, an escape sequence, HTML, a forged line),
    one student leaving, and the page saved as ``path`` (the README's picture)."""
    from classroom.hub_server import HubServer, serve_in_thread
    from classroom.web_view import WebView
    server = HubServer(port=0)
    with serve_in_thread(server) as hub, HeadlessChromium(1280, 720) as browser:
        view = WebView(server, LOOPBACK, 0)
        hub.run(view.start)
        socks = [socket.create_connection((LOOPBACK, hub.port), timeout=START_TIMEOUT)
                 for _ in range(5)]
        browser.open('http://%s:%d/' % (LOOPBACK, view.port))
        browser.wait_until('window.roomView && window.roomView.live')
        browser.wait_until('document.getElementById("count").textContent === "5"')
        for number, (who, text) in enumerate(DEMO_CHAT, 1):
            socks[who].sendall(text.encode('utf-8'))
            browser.wait_until('window.roomView.messages >= %d' % number)
        socks[4].sendall(b'q')
        browser.wait_until('document.getElementById("count").textContent === "4"')
        browser.screenshot(path)
        for sock in socks:
            sock.close()
        hub.run(view.stop)
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m benchmarks.hub_web_bench',
                                     description=__doc__.split('\n\n')[0])
    parser.add_argument('--clients', type=int, default=200)
    parser.add_argument('--rate', type=float, default=1.0, help='messages/s per client')
    parser.add_argument('--duration', type=float, default=30.0)
    parser.add_argument('--size', type=int, default=48)
    parser.add_argument('--repeat', type=int, default=1, help='alternating pairs of runs')
    parser.add_argument('--screenshot', default=None, help='save the page at the end here')
    parser.add_argument('--demo', default=None, metavar='PNG',
                        help='only save a screenshot of a small class chatting, e.g. '
                             'docs/hub-web-view.png, and stop')
    args = parser.parse_args(argv)
    if args.demo:
        print('saved', demo_screenshot(args.demo))
        return 0
    if not sys.platform.startswith('linux'):
        print('Linux only (/proc)')
        return 2
    try:
        import aiohttp  # noqa: F401
    except ImportError:
        print('needs aiohttp: pip install "socket-lab[web]"')
        return 2
    if chromium_path() is None:
        print('needs chromium (apt-get install chromium)')
        return 2
    pairs = []
    with HeadlessChromium() as browser:
        for number in range(args.repeat):
            plain = one_run(False, args)
            viewed = one_run(True, args, browser,
                             args.screenshot if number == args.repeat - 1 else None)
            pairs.append((plain, viewed))
            ratio = viewed['hub_cpu_s'] / plain['hub_cpu_s'] if plain['hub_cpu_s'] else None
            print('run %d: hub CPU %.2f s without the page, %.2f s with it (%s); '
                  'page showed %d of %d messages, %d gaps, %d snapshots'
                  % (number + 1, plain['hub_cpu_s'], viewed['hub_cpu_s'],
                     '%.2fx' % ratio if ratio else 'n/a', viewed['page_messages'],
                     viewed['sent'], viewed['page_gaps'], viewed['page_snapshots']))
    ratios = sorted(v['hub_cpu_s'] / p['hub_cpu_s'] for p, v in pairs if p['hub_cpu_s'])
    median = ratios[len(ratios) // 2] if ratios else None
    complete = all(v['page_messages'] == v['sent'] and v['page_gaps'] == 0 for _, v in pairs)
    print('%d clients x %g msg/s x %g s: CPU with the page / without: median %s (bar %.2f); '
          'every message on the page: %s'
          % (args.clients, args.rate, args.duration,
             '%.2fx' % median if median else 'n/a', CPU_BAR, 'yes' if complete else 'NO'))
    print(json.dumps({'runs': [{'plain': p, 'viewed': v} for p, v in pairs],
                      'median_cpu_ratio': median, 'every_message': complete}))
    return 0 if complete and median is not None and median <= CPU_BAR else 1


if __name__ == '__main__':
    sys.exit(main())
