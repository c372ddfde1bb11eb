"""The hub's projected view (``--web``, issue 15 item 4): optional, read-only, escaped,
bounded, and shown in a real headless Chromium (Debian's ``chromium`` over the DevTools
protocol: ``benchmarks/hub_web_bench.HeadlessChromium``)."""
import argparse
import base64
import hashlib
import os
import socket
import subprocess
import sys
import time

import pytest

from grader import timeouts
from tests.conftest import ROOT

aiohttp = pytest.importorskip('aiohttp', reason='the web extra (pip install "socket-lab[web]")')

from classroom.hub_server import JOIN_NOTICE, LEAVE_NOTICE, RELAY, HubServer, serve_in_thread  # noqa: E402
from classroom.web_view import TEXT_LIMIT, VIEWER_QUEUE, RoomFeed, Viewer, WebView  # noqa: E402
from benchmarks.hub_web_bench import HeadlessChromium, chromium_path, one_run  # noqa: E402

needs_chromium = pytest.mark.skipif(chromium_path() is None, reason='chromium is not installed')

#: Blocks aiohttp in a child Python, as if the web extra were not installed.
WITHOUT_AIOHTTP = '''
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name == 'aiohttp' or name.startswith('aiohttp.'):
            raise ImportError('No module named %r' % name)
sys.meta_path.insert(0, Block())
'''


def run_python(code, *argv):
    return subprocess.run([sys.executable, '-c', code] + list(argv), cwd=str(ROOT),
                          capture_output=True, text=True, timeout=timeouts.LONG)


# ---------------------------------------------------------------------------------------
# Optional: the hub needs nothing outside the standard library without --web


def test_the_hub_imports_no_third_party_module():
    code = ('import sys, classroom.hub_server, classroom.cli, classroom.echo_server\n'
            'print(sorted(m for m in sys.modules if m.split(".")[0] in {"aiohttp", "multidict",'
            ' "yarl"} or m == "classroom.web_view"))')
    done = run_python(code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == '[]'


@pytest.mark.slow
def test_the_hub_runs_without_aiohttp_and_web_says_how_to_install_it(instructor_server):
    done = run_python(WITHOUT_AIOHTTP + 'from classroom.hub_server import main\n'
                      'sys.exit(main(sys.argv[1:]))', '--host', '127.0.0.1', '--port', '0',
                      '--web', '0')
    assert done.returncode == 2
    assert 'pip install "socket-lab[web]"' in done.stderr
    assert 'Traceback' not in done.stderr
    help_text = run_python(WITHOUT_AIOHTTP + 'from classroom.hub_server import main\n'
                           'main(["--help"])').stdout
    assert '--web PORT' in help_text


# ---------------------------------------------------------------------------------------
# The feed and the viewers' queues, in memory


def test_the_feed_keeps_who_is_online_and_a_bounded_ring():
    feed = RoomFeed(recent=5, clock=lambda: 1000.0)
    feed.joined('a')
    feed.joined('b')
    for number in range(10):
        feed.said('a', b'm%d' % number)
    feed.left('b', 'q')
    snapshot = feed.snapshot()
    assert snapshot['online'] == ['a']
    assert [event['n'] for event in snapshot['events']] == [9, 10, 11, 12, 13]
    assert snapshot['events'][-1] == {'n': 13, 'kind': 'leave', 'who': 'b', 'text': 'q',
                                      'at': 1000.0}


def test_a_flood_is_one_cut_line_on_the_page():
    feed = RoomFeed()
    feed.said('a', '字'.encode('utf-8') * (10 * TEXT_LIMIT))
    text = feed.recent[-1]['text']
    assert text.startswith('字' * TEXT_LIMIT) and text.endswith('(%d bytes)' % (30 * TEXT_LIMIT))
    assert len(text) < TEXT_LIMIT + 40


def test_a_viewer_that_falls_behind_gets_a_snapshot_instead_of_an_endless_queue():
    viewer = Viewer(limit=3)
    for number in range(3):
        viewer.push({'n': number})
    assert viewer.take() == ('events', [{'n': 0}, {'n': 1}, {'n': 2}])
    for number in range(10):
        viewer.push({'n': number})
    assert len(viewer.queue) <= 3
    assert viewer.take() == ('snapshot', None)
    assert viewer.take() == ('events', [])


# ---------------------------------------------------------------------------------------
# The page in a real browser


@pytest.fixture
def viewed_hub(log):
    # read_rate=0: the frozen-page test sends megabytes, faster than a student may
    server = HubServer(port=0, log=log.append, read_rate=0)
    with serve_in_thread(server) as hub:
        view = WebView(server, '127.0.0.1', 0, log=log.append)
        hub.run(view.start)
        try:
            yield hub, view
        finally:
            hub.run(view.stop)


@pytest.fixture(scope='module')
def browser():
    if chromium_path() is None:
        pytest.skip('chromium is not installed')
    with HeadlessChromium() as running:
        yield running


def page_text(browser, selector):
    return browser.evaluate('Array.from(document.querySelectorAll(%r)).map('
                            'function (e) { return e.textContent; })' % selector)


HOSTILE_TEXT = [
    '<img src=x onerror="document.title=\'pwned\'">',
    '<script>document.title="pwned"</script>',
    '你好, 世界! \U0001f600 \U0001f468\u200d\U0001f469\u200d\U0001f467',
    '\x1b[2J clear screen',
    '&lt;b&gt; already escaped &amp;',
]


@pytest.mark.slow
@needs_chromium
def test_the_page_shows_the_room_live_and_every_text_as_text(viewed_hub, browser, peers,
                                                             tmp_path):
    hub, view = viewed_hub
    a = peers.connect(hub.port)
    browser.open('http://127.0.0.1:%d/' % view.port)
    assert browser.wait_until('window.roomView && window.roomView.live')
    b = peers.connect(hub.port)
    a.wait_for(JOIN_NOTICE.format(addr=b.addr))
    assert browser.wait_until('document.getElementById("count").textContent === "2"')
    assert sorted(page_text(browser, '#online li')) == sorted([a.addr, b.addr])

    for number, text in enumerate(HOSTILE_TEXT, 1):
        a.send(text)
        b.wait_for(RELAY.format(addr=a.addr, text='') , count=number)
    assert browser.wait_until('window.roomView.messages >= %d' % len(HOSTILE_TEXT))
    shown = page_text(browser, '#events li.message .text')
    expected = [text.replace('\x1b', '\\x1b') for text in HOSTILE_TEXT]
    assert shown == expected
    assert browser.evaluate('document.querySelectorAll("#events img, #events script, '
                            '#events b").length') == 0, 'text became HTML'
    assert browser.evaluate('document.title') == '聊天室 / Chat room'

    b.send('q')
    a.wait_for(LEAVE_NOTICE.format(addr=b.addr))
    assert browser.wait_until('document.getElementById("count").textContent === "1"')
    assert page_text(browser, '#online li') == [a.addr]
    assert browser.evaluate('window.roomView.gaps') == 0
    picture = browser.screenshot(tmp_path / 'room.png')
    assert picture.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'


def raw_websocket(port):
    """A WebSocket handshake by hand on a socket with a tiny receive buffer, after which
    it never reads: a browser tab that stopped (a frozen laptop on the projector)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(timeouts.SHORT)
    sock.connect(('127.0.0.1', port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(('GET /ws HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n'
                  'Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n'
                  'Sec-WebSocket-Version: 13\r\n\r\n' % (port, key)).encode())
    answer = b''
    for _ in range(4096):                     # the answer's headers, a byte at a time
        if b'\r\n\r\n' in answer:
            break
        answer += sock.recv(1)
    accept = base64.b64encode(hashlib.sha1(
        (key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').encode()).digest()).decode()
    assert b'101' in answer.split(b'\r\n')[0] and accept.encode() in answer, answer
    return sock


@pytest.mark.slow
def test_a_page_that_stops_reading_slows_nobody_and_its_queue_stays_bounded(viewed_hub,
                                                                            peers):
    hub, view = viewed_hub
    frozen = raw_websocket(view.port)
    try:
        a = peers.connect(hub.port)
        b = peers.connect(hub.port)
        a.wait_for(JOIN_NOTICE.format(addr=b.addr))
        # A busy room, straight into the feed (TCP would join the students' messages
        # into fewer, bigger events): 3 queues' worth, 1.5 kB each, in bursts.
        line = b'x' * 1500

        def busy_room(count):
            for _ in range(count):
                view.feed.said(a.addr, line)

        started = time.monotonic()
        for number in range(30):
            hub.call(busy_room, VIEWER_QUEUE // 10)
            a.send('<%d>' % number)
            b.wait_for(RELAY.format(addr=a.addr, text='<%d>' % number))
        took = time.monotonic() - started
        queued = hub.call(lambda: [(len(viewer.queue), viewer.overflows)
                                   for viewer in view.feed.viewers])
        assert len(queued) == 1
        waiting, overflows = queued[0]
        assert overflows >= 1, 'the page fell behind (else this test proves nothing)'
        assert waiting <= VIEWER_QUEUE
        assert took < 10.0, 'the room slowed down: 30 relays took %.1f s' % took
        b.send('still here')
        a.wait_for(RELAY.format(addr=b.addr, text='still here'))
    finally:
        frozen.close()


@pytest.mark.slow
@needs_chromium
def test_a_small_room_chatting_with_the_page_open_shows_every_message(browser):
    """The benchmark (benchmarks/hub_web_bench.py), reduced: 20 clients, 2 msg/s, 3 s."""
    args = argparse.Namespace(clients=20, rate=2.0, duration=3.0, size=48)
    result = one_run(True, args, browser)
    assert result['sent'] > 0
    assert result['page_messages'] == result['sent']
    assert result['page_gaps'] == 0 and result['page_snapshots'] == 1


@pytest.mark.slow
def test_a_busy_web_port_is_one_clear_line_and_status_1():
    with socket.socket() as busy:
        busy.bind(('127.0.0.1', 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run([sys.executable, '-m', 'classroom.hub_server', '--host',
                               '127.0.0.1', '--port', '0', '--web', str(port)], cwd=str(ROOT),
                              capture_output=True, text=True, timeout=timeouts.LONG)
    assert done.returncode == 1
    assert 'error: port %d is already in use' % port in done.stderr
    assert done.stderr.rstrip().endswith('choose another port with --web')
    assert 'Traceback' not in done.stderr
