"""The projected view of the room: a read-only web page for the classroom screen.

    python -m classroom.hub_server --web 8080      # then open http://localhost:8080/

The page shows who is online, joins and departures, and every message as it arrives,
live, in a browser put on the projector. It needs aiohttp (``pip install
"socket-lab[web]"``), imported here only: the hub without ``--web`` uses the standard
library alone, and ``--web`` without aiohttp says how to install it (``cli.py``).

Theory of operation
===================

The web server runs on the hub's own event loop, so the hub's callbacks and the page's
never run at once and nothing needs a lock. The hub tells a ``RoomFeed`` of each join,
departure and relayed message (``HubServer.room_feed``); that costs the hub a dict and a
few appends per event, and it never waits for a browser:

- the feed keeps who is online and a ring of the last ``RECENT_EVENTS`` events (what a
  page opened now starts from): its memory is bounded whatever the room does;
- each open page (a *viewer*) has a queue of at most ``VIEWER_QUEUE`` events; its own task
  sends what waits, as one WebSocket message, at most every ``BATCH_INTERVAL``. A browser
  that reads too slowly blocks only that task: its queue fills, is thrown away, and it is
  sent a fresh snapshot of the room instead once it catches up;
- a message is shown as the hub relayed it (neutralised by ``classroom.sanitize``), cut
  to ``TEXT_LIMIT`` characters; the page puts every text in the DOM with
  ``textContent``, never as HTML, and the server forbids inline scripts
  (Content-Security-Policy), so nothing a student sends can run in the page.

The page only reads: it takes no input, and what a browser sends on the WebSocket is
ignored.
"""
import asyncio
import collections
import json
import time

from aiohttp import WSMsgType, web

from .web_page import APP_JS, INDEX_HTML, STYLE_CSS

__all__ = ['RoomFeed', 'Viewer', 'WebView', 'RECENT_EVENTS', 'VIEWER_QUEUE', 'TEXT_LIMIT',
           'BATCH_INTERVAL', 'MAX_VIEWERS']

#: Events a page opened now starts from (the ring's length).
RECENT_EVENTS = 300
#: Events that may wait for one browser; beyond, it gets a snapshot instead.
VIEWER_QUEUE = 2000
#: Characters of one message the page shows (a flood of megabytes stays a line).
TEXT_LIMIT = 2000
#: A viewer's events go out together at most this often (seconds).
BATCH_INTERVAL = 0.1
#: Pages open at once; more are answered 503.
MAX_VIEWERS = 50
#: The WebSocket's ping interval: a browser that vanished is closed after about this.
HEARTBEAT = 30.0

_SECURITY_HEADERS = {
    'Content-Security-Policy': "default-src 'none'; script-src 'self'; style-src 'self'; "
                               "connect-src 'self'; img-src 'self'; base-uri 'none'; "
                               "frame-ancestors 'none'",
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Cache-Control': 'no-store',
}


class Viewer:
    """One open page: its bounded queue of events and what wakes its sending task."""

    def __init__(self, limit=VIEWER_QUEUE):
        self.limit = limit
        self.queue = []
        self.overflowed = False        # events were thrown away: send a snapshot next
        self.overflows = 0             # how often (for the log and the tests)
        self.wakeup = asyncio.Event()

    def push(self, event):
        if self.overflowed:
            return
        if len(self.queue) >= self.limit:
            self.overflowed = True
            self.overflows += 1
            self.queue = []
        else:
            self.queue.append(event)
        if not self.wakeup.is_set():
            self.wakeup.set()

    def take(self):
        """``('snapshot', None)`` after an overflow, else ``('events', [...])``."""
        self.wakeup.clear()
        if self.overflowed:
            self.overflowed = False
            return 'snapshot', None
        events, self.queue = self.queue, []
        return 'events', events


class RoomFeed:
    """What the page shows, kept on the hub's thread: who is online, the recent events,
    and the viewers to tell. The hub calls ``joined``, ``left`` and ``said``."""

    def __init__(self, recent=RECENT_EVENTS, clock=time.time):
        self.online = {}               # label -> when it joined (seconds since the epoch)
        self.recent = collections.deque(maxlen=recent)
        self.viewers = set()
        self.number = 0                # events so far
        self._clock = clock

    def joined(self, label):
        self.online[label] = self._clock()
        self._publish('join', label, '')

    def left(self, label, reason):
        self.online.pop(label, None)
        self._publish('leave', label, reason)

    def said(self, label, data):
        """``data``: the neutralised UTF-8 bytes the hub relayed, without prefixes."""
        cut = len(data) > TEXT_LIMIT * 4
        text = (data[:TEXT_LIMIT * 4] if cut else data).decode('utf-8', 'ignore')
        if len(text) > TEXT_LIMIT or cut:
            text = text[:TEXT_LIMIT] + ' … (%d bytes)' % len(data)
        self._publish('message', label, text)

    def snapshot(self):
        return {'kind': 'snapshot', 'online': sorted(self.online, key=self.online.get),
                'events': list(self.recent)}

    def _publish(self, kind, label, text):
        self.number += 1
        event = {'n': self.number, 'kind': kind, 'who': label, 'text': text,
                 'at': round(self._clock(), 3)}
        self.recent.append(event)
        for viewer in self.viewers:
            viewer.push(event)


class WebView:
    """The page and its WebSocket, served beside ``hub`` on its event loop.

    Args:
        hub: the HubServer to show (its ``room_feed`` is set to this view's feed).
        host, port: where the page listens (port 0: a free one; read ``port`` after start).
        log: called with each log line, like the hub's.
    """

    def __init__(self, hub, host='127.0.0.1', port=0, log=None, max_viewers=MAX_VIEWERS):
        self.hub = hub
        self.host = host
        self.port = port
        self.max_viewers = max_viewers
        self.feed = RoomFeed()
        hub.room_feed = self.feed
        self._log = log or (lambda message: None)
        self._runner = None
        self._sockets = set()

    async def start(self):
        """Listen; raises OSError (with ``where``: (host, port)) if the port is not free."""
        app = web.Application()
        app.router.add_get('/', self._page(INDEX_HTML, 'text/html'))
        app.router.add_get('/app.js', self._page(APP_JS, 'text/javascript'))
        app.router.add_get('/style.css', self._page(STYLE_CSS, 'text/css'))
        app.router.add_get('/ws', self._websocket)
        app.on_shutdown.append(self._close_sockets)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        try:
            await site.start()
        except OSError as error:
            await self._runner.cleanup()
            self._runner = None
            error.where = (self.host, self.port)
            raise
        self.port = site._server.sockets[0].getsockname()[1]
        shown = 'localhost' if self.host in ('0.0.0.0', '::', '') else self.host
        self._log('web view of the room on http://%s:%d/ (read-only)' % (shown, self.port))

    async def stop(self):
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ------------------------------------------------------------------ handlers

    def _page(self, body, content_type):
        data = body.replace('{hub_port}', str(self.hub.port)).encode('utf-8')

        async def handler(request):
            return web.Response(body=data, content_type=content_type, charset='utf-8',
                                headers=_SECURITY_HEADERS)
        return handler

    async def _websocket(self, request):
        if len(self.feed.viewers) >= self.max_viewers:
            return web.Response(status=503, text='too many pages open on this room')
        ws = web.WebSocketResponse(heartbeat=HEARTBEAT, max_msg_size=4096)
        await ws.prepare(request)
        viewer = Viewer()
        self.feed.viewers.add(viewer)
        self._sockets.add(ws)
        sender = asyncio.ensure_future(self._send_to(ws, viewer))
        try:
            async for message in ws:      # the page sends nothing that matters: read only
                if message.type == WSMsgType.ERROR:
                    break
        finally:
            self.feed.viewers.discard(viewer)
            self._sockets.discard(ws)
            sender.cancel()
        return ws

    async def _send_to(self, ws, viewer):
        """One viewer's task: a snapshot, then what its queue holds, batched."""
        try:
            await ws.send_str(json.dumps(self._snapshot(), ensure_ascii=False))
            while not ws.closed:
                await viewer.wakeup.wait()
                await asyncio.sleep(BATCH_INTERVAL)   # gather what comes in the meantime
                kind, events = viewer.take()
                if kind == 'snapshot':
                    payload = self._snapshot()
                else:
                    payload = {'kind': 'events', 'events': events,
                               'online': len(self.feed.online)}
                await ws.send_str(json.dumps(payload, ensure_ascii=False))
        except (ConnectionError, RuntimeError, asyncio.CancelledError):
            pass   # the page went away (or the view is stopping)

    def _snapshot(self):
        snapshot = self.feed.snapshot()
        snapshot['hub_port'] = self.hub.port
        return snapshot

    async def _close_sockets(self, app):
        for ws in list(self._sockets):
            await ws.close()

