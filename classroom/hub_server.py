"""Instructor hub server (port 10001): the lab's chat room, for a whole class at once.

Every chunk a client sends is relayed as ``<addr> : <text>`` to every *other* client
(neutralised, and with the prefix at the start of every line: see below);
``q`` (alone, whitespace aside), end of stream, a reset, or not reading makes a client
leave, announced to the others as ``<addr>已经离开了``; a newcomer is announced as
``<addr>加入了聊天室``. ``<addr>`` is ``str((ip, port))`` of the client concerned::

    python -m classroom.hub_server                       # whole classroom, port 10001
    python -m classroom.hub_server --host 127.0.0.1      # this computer only

It is one ``InstructorServer`` (see ``classroom.core`` for how connections,
decoding, limits, writing and logging work); this module only decides who hears what.
A relay is the sender's prefix (``<addr> : ``, encoded once when it joins) followed by the
bytes it sent, neutralised and framed by ``classroom.sanitize``: no character that acts on
a terminal reaches the others (it is shown as a visible escape such as ``\x1b``), every
line starts with the real sender's prefix, and a message TCP cut into several reads keeps
one prefix. Printable text (Chinese, emoji) is the very bytes sent, so an ordinary message
costs no decoding, formatting or encoding per recipient or even per message.

A room of students includes one who tries things (``../shared/lab-spec.md``, "The
classroom hub in a real room"): besides the neutralising, each client's reading is
limited to ``READ_RATE`` bytes a second after a ``READ_BURST`` (the hub reads less from a
flooder; TCP holds back the rest), and the command line caps clients per address,
turns on keepalive, and takes ``--idle-timeout``, ``--allow``/``--deny`` and ``--web``
(the projected view of the room, ``classroom.web_view``, with the ``web`` extra).
"""
import sys

from . import sanitize
from .cli import run_cli
from .core import InstructorServer
from .thread import ServerThread, serve_in_thread

__all__ = ['HubServer', 'ServerThread', 'serve_in_thread',
           'RELAY', 'JOIN_NOTICE', 'LEAVE_NOTICE', 'FULL_NOTICE', 'PER_ADDRESS_NOTICE',
           'NOT_ALLOWED_NOTICE', 'IDLE_NOTICE', 'QUIT', 'is_quit', 'main']

#: How a chunk of text from one client reaches the others.
RELAY = '{addr} : {text}'
#: Sent to the others when a client joins (the newcomer gets nothing).
JOIN_NOTICE = '{addr}加入了聊天室'
#: Sent to the others when a client leaves, however it left.
LEAVE_NOTICE = '{addr}已经离开了'
#: What a client reads when ``max_clients`` are already in the room; then it is closed.
FULL_NOTICE = '聊天室已满(最多{max_clients}人), 请稍后再试'
#: What a newcomer reads when ``max_per_address`` clients from its address are in already.
PER_ADDRESS_NOTICE = ('你的地址已有{max_per_address}个连接, 请先关闭一个再连接 / '
                      'your address has {max_per_address} connections already; close one first')
#: What a newcomer reads when its address is not in ``allow`` (or is in ``deny``).
NOT_ALLOWED_NOTICE = '你的地址不能加入这个聊天室 / your address may not join this chat room'
#: What a client reads before it is closed for saying nothing for ``idle_timeout`` seconds.
IDLE_NOTICE = '你已经{seconds:g}秒没有发言, 连接已关闭 / nothing sent for {seconds:g} s: connection closed'
#: A chunk that is exactly this, whitespace aside, means "I am leaving".
QUIT = 'q'

# The prefix of a relay is RELAY up to its text: the text must come last.
assert RELAY.endswith('{text}'), RELAY
#: The ASCII characters that str.strip() removes (it also removes Unicode spaces).
_ASCII_WHITESPACE = b' \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f'
_QUIT_BYTES = QUIT.encode('ascii')


def is_quit(data):
    """``data.decode().strip() == QUIT`` for a chunk of UTF-8, without decoding most chunks.

    Once its ASCII whitespace is stripped, a chunk that begins and ends with ASCII
    characters would be stripped no further by ``str.strip``, so it is the quit only if
    it is exactly ``q``. Only a chunk that begins or ends with a non-ASCII character
    (perhaps a Unicode space such as U+3000) needs decoding to tell.
    """
    core = data.strip(_ASCII_WHITESPACE)
    if core == _QUIT_BYTES:
        return True
    if not core or (core[0] < 0x80 and core[-1] < 0x80):
        return False
    return data.decode('utf-8').strip() == QUIT


class HubServer(InstructorServer):
    """The chat room: relays each client's text to every other client.

    Takes the arguments of ``InstructorServer``. A client that stops reading is dropped
    once more than ``out_buffer_limit`` bytes wait for it, so it never stalls the room.
    """

    NAME = 'hub server'
    DEFAULT_PORT = 10001
    #: The command line offers --web (classroom.web_view) for this server.
    HAS_WEB_VIEW = True
    #: A client may send 256 KiB at once, then 64 KiB a second: hundreds of times what a
    #: class types, and a sixteenth of what a terminal printing at ~1 MiB/s takes in, so a
    #: flooder never gets a reader dropped for "stopped reading".
    READ_RATE = 64 * 1024
    READ_BURST = 256 * 1024

    #: Told of the room's events, if set (``classroom.web_view.RoomFeed``): called on the
    #: server's thread as ``joined(label)``, ``left(label, reason)``, ``said(label, data)``
    #: with ``data`` the neutralised UTF-8 bytes relayed (without prefixes).
    room_feed = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._open_relay = None   # whose relay the last thing broadcast was (see on_chunk)

    def on_join(self, client):
        client.relay_prefix = self._relay_prefix(client)
        self.broadcast(JOIN_NOTICE.format(addr=client.label), exclude=client)
        if self.room_feed is not None:
            self.room_feed.joined(client.label)

    def on_chunk(self, client, data):
        if is_quit(data):
            self.disconnect(client, QUIT)
            return
        try:
            prefix = client.relay_prefix
        except AttributeError:  # a subclass's on_join did not call ours
            prefix = client.relay_prefix = self._relay_prefix(client)
        text = sanitize.neutralise(data)
        if not text:
            return
        # The rest of a message TCP cut goes on without a prefix, while nothing else was
        # broadcast since its first part (sanitize.continues).
        continuing = self._open_relay is client and sanitize.continues(
            client.last_chunk_size, client.last_read_filled, client.continued, len(data),
            client.ended_line, False, client.gap)
        self.send_to_all(sanitize.frame(prefix, text, continuing), exclude=client)
        self._open_relay = client
        client.last_chunk_size = len(data)
        client.last_read_filled = client.read_filled
        client.continued = continuing
        client.ended_line = text.endswith(b'\n')
        if self.room_feed is not None:
            self.room_feed.said(client.label, text)

    def on_leave(self, client, reason):
        self.broadcast(LEAVE_NOTICE.format(addr=client.label))
        if self.room_feed is not None:
            self.room_feed.left(client.label, reason)

    def refusal_notice(self):
        return FULL_NOTICE.format(max_clients=self.max_clients)

    def per_address_notice(self):
        return PER_ADDRESS_NOTICE.format(max_per_address=self.max_per_address)

    def not_allowed_notice(self):
        return NOT_ALLOWED_NOTICE

    def idle_notice(self):
        return IDLE_NOTICE.format(seconds=self.idle_timeout)

    def broadcast(self, text, exclude=None):
        """Send ``text`` to every client but ``exclude``, encoded once for all of them."""
        self._open_relay = None
        self.send_to_all(text.encode('utf-8'), exclude=exclude)

    @staticmethod
    def _relay_prefix(client):
        return RELAY.format(addr=client.label, text='').encode('utf-8')


def main(argv=None):
    return run_cli(HubServer, 'python -m classroom.hub_server',
                   'Instructor chat-room server for the socket lab: relays every message '
                   'as "<addr> : <message>" to all other clients.', argv)


if __name__ == '__main__':
    sys.exit(main())
