"""Instructor hub server (port 10001): the lab's chat room, for a whole class at once.

Every chunk a client sends is relayed as ``<addr> : <text>`` to every *other* client;
``q`` (alone, whitespace aside), end of stream, a reset, or not reading makes a client
leave, announced to the others as ``<addr>已经离开了``; a newcomer is announced as
``<addr>加入了聊天室``. ``<addr>`` is ``str((ip, port))`` of the client concerned::

    python -m reference.hub_server                       # whole classroom, port 10001
    python -m reference.hub_server --host 127.0.0.1      # this computer only

It is one ``InstructorServer`` (see ``reference._instructor`` for how connections,
decoding, limits and logging work); this module only decides who hears what.
"""
import sys

from reference._instructor import InstructorServer, ServerThread, run_cli, serve_in_thread

__all__ = ['HubServer', 'ServerThread', 'serve_in_thread',
           'RELAY', 'JOIN_NOTICE', 'LEAVE_NOTICE', 'FULL_NOTICE', 'QUIT', 'main']

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


class HubServer(InstructorServer):
    """The chat room: relays each client's text to every other client.

    Takes the arguments of ``InstructorServer``. A client that stops reading is dropped
    once more than ``out_buffer_limit`` bytes wait for it, so it never stalls the room.
    """

    NAME = 'hub server'
    DEFAULT_PORT = 10001

    def on_join(self, client):
        self.broadcast(JOIN_NOTICE.format(addr=client.label), exclude=client)

    def on_text(self, client, text):
        if text.strip() == QUIT:
            self.disconnect(client, QUIT)
            return
        self.broadcast(RELAY.format(addr=client.label, text=text), exclude=client)

    def on_leave(self, client, reason):
        self.broadcast(LEAVE_NOTICE.format(addr=client.label))

    def refusal_notice(self):
        return FULL_NOTICE.format(max_clients=self.max_clients)

    def broadcast(self, text, exclude=None):
        """Send ``text`` to every client but ``exclude``, encoded once for all of them."""
        data = text.encode('utf-8')
        # send_to never changes the registry (drops wait until this event is handled),
        # so walking it directly is safe and costs no copy per message.
        for client in self.clients:
            if client is not exclude:
                self.send_to(client, data)


def main(argv=None):
    return run_cli(HubServer, 'python -m reference.hub_server',
                   'Instructor chat-room server for the socket lab: relays every message '
                   'as "<addr> : <message>" to all other clients.', argv)


if __name__ == '__main__':
    sys.exit(main())
