"""Instructor hub server (port 10001): the lab's chat room, for a whole class at once.

Every chunk a client sends is relayed as ``<addr> : <text>`` to every *other* client;
``q`` (alone, whitespace aside), end of stream, a reset, or not reading makes a client
leave, announced to the others as ``<addr>已经离开了``; a newcomer is announced as
``<addr>加入了聊天室``. ``<addr>`` is ``str((ip, port))`` of the client concerned::

    python -m classroom.hub_server                       # whole classroom, port 10001
    python -m classroom.hub_server --host 127.0.0.1      # this computer only

It is one ``InstructorServer`` (see ``classroom.core`` for how connections,
decoding, limits, writing and logging work); this module only decides who hears what.
A relay is the sender's prefix (``<addr> : ``, encoded once when it joins) followed by the
very bytes it sent, so a message costs no decoding, formatting or encoding per recipient
or even per message.
"""
import sys

from .cli import run_cli
from .core import InstructorServer
from .thread import ServerThread, serve_in_thread

__all__ = ['HubServer', 'ServerThread', 'serve_in_thread',
           'RELAY', 'JOIN_NOTICE', 'LEAVE_NOTICE', 'FULL_NOTICE', 'QUIT', 'is_quit', 'main']

#: How a chunk of text from one client reaches the others.
RELAY = '{addr} : {text}'
#: Sent to the others when a client joins (the newcomer gets nothing).
JOIN_NOTICE = '{addr}加入了聊天室'
#: Sent to the others when a client leaves, however it left.
LEAVE_NOTICE = '{addr}已经离开了'
#: What a client reads when ``max_clients`` are already in the room; then it is closed.
FULL_NOTICE = '聊天室已满(最多{max_clients}人), 请稍后再试'
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

    def on_join(self, client):
        client.relay_prefix = self._relay_prefix(client)
        self.broadcast(JOIN_NOTICE.format(addr=client.label), exclude=client)

    def on_chunk(self, client, data):
        if is_quit(data):
            self.disconnect(client, QUIT)
            return
        try:
            prefix = client.relay_prefix
        except AttributeError:  # a subclass's on_join did not call ours
            prefix = client.relay_prefix = self._relay_prefix(client)
        self.send_to_all(prefix + data, exclude=client)

    def on_leave(self, client, reason):
        self.broadcast(LEAVE_NOTICE.format(addr=client.label))

    def refusal_notice(self):
        return FULL_NOTICE.format(max_clients=self.max_clients)

    def broadcast(self, text, exclude=None):
        """Send ``text`` to every client but ``exclude``, encoded once for all of them."""
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
