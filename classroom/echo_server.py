"""Instructor echo server (port 10000): answers every chunk it receives with ``收到: <text>``.

Students test their client against it before they have a server of their own::

    python -m classroom.echo_server                      # whole classroom, port 10000
    python -m classroom.echo_server --host 127.0.0.1     # this computer only

It is one ``InstructorServer`` (see ``classroom.core`` for how connections,
decoding, limits and logging work); this module only decides the answer.
"""
import sys

from .cli import run_cli
from .core import InstructorServer
from .thread import ServerThread, serve_in_thread

__all__ = ['EchoServer', 'ServerThread', 'serve_in_thread', 'REPLY', 'FULL_NOTICE', 'main']

#: The answer to each chunk of text.
REPLY = '收到: {text}'
#: What a client reads when ``max_clients`` are already connected; then it is closed.
FULL_NOTICE = '服务器已满(最多{max_clients}人), 请稍后再试'

assert REPLY.endswith('{text}'), REPLY
_REPLY_PREFIX = REPLY.format(text='').encode('utf-8')


class EchoServer(InstructorServer):
    """Echoes each chunk a client sends back to that client as ``收到: <text>``.

    Takes the arguments of ``InstructorServer``. A client that sends but does not read
    only slows itself down: while its answers pile up, the server stops reading from it.
    """

    NAME = 'echo server'
    DEFAULT_PORT = 10000

    def on_chunk(self, client, data):
        self.send_to(client, _REPLY_PREFIX + data)   # the bytes it sent: no re-encoding

    # Flow control: answers are as big as what the client sends, so a client that sends
    # without reading would grow its answers without bound. Stop reading from it while
    # they wait; the kernel then holds back its sends, and nobody else is affected.

    def on_write_paused(self, client):
        client.transport.pause_reading()

    def on_write_resumed(self, client):
        # (READ_RATE is 0 here: no token bucket ever pauses reading at the same time.)
        if client.online and not client.transport.is_closing():
            client.transport.resume_reading()

    def refusal_notice(self):
        return FULL_NOTICE.format(max_clients=self.max_clients)


def main(argv=None):
    return run_cli(EchoServer, 'python -m classroom.echo_server',
                   'Instructor echo server for the socket lab: answers every message with '
                   '"收到: <message>".', argv)


if __name__ == '__main__':
    sys.exit(main())
