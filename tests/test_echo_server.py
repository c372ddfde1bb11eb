"""The instructor echo server, run in-process on a free port and driven by real sockets."""
import socket

import pytest

from grader import timeouts
from grader.peers import pump
from classroom.echo_server import FULL_NOTICE, REPLY, EchoServer, serve_in_thread
from tests.conftest import ReadRecorder

#: Every test here runs with both of the servers' ways of writing (see write_path).
pytestmark = pytest.mark.usefixtures('write_path')


def reply(text):
    return REPLY.format(text=text).encode('utf-8')


@pytest.fixture
def echo(log):
    with serve_in_thread(EchoServer(port=0, log=log.append)) as running:
        yield running


def test_answers_a_message(echo, peers):
    client = peers.connect(echo.port)
    client.send('hello')
    client.wait_for(reply('hello'))
    assert bytes(client.received) == reply('hello')


def test_answers_each_message_in_order(echo, peers):
    client = peers.connect(echo.port)
    for text in ('one', '二', 'three'):
        client.send(text)
        client.wait_for(reply(text))
    assert bytes(client.received) == reply('one') + reply('二') + reply('three')


def test_chinese_split_across_two_sends_comes_back_intact(peers):
    recorder = ReadRecorder()
    with serve_in_thread(EchoServer(port=0, recorder=recorder)) as echo:
        client = peers.connect(echo.port)
        whole = '你好'.encode('utf-8')
        client.send(whole[:2])            # the first two of the three bytes of 你
        assert recorder.next_read(timeouts.SHORT) == whole[:2]  # read on their own
        client.send(whole[2:])
        client.wait_for(reply('你好'))
        # Nothing was answered for the half character: no empty answer, no U+FFFD.
        assert bytes(client.received) == reply('你好')


def test_one_byte_at_a_time_is_answered_a_whole_character_at_a_time(peers):
    recorder = ReadRecorder()
    with serve_in_thread(EchoServer(port=0, recorder=recorder)) as echo:
        client = peers.connect(echo.port)
        text = '好a'
        for byte in text.encode('utf-8'):
            client.send(bytes([byte]))
            assert recorder.next_read(timeouts.SHORT) == bytes([byte])   # read on its own
        client.wait_for(reply('a'))
        # one answer for the character once its third byte came, none for its first two
        assert bytes(client.received) == reply('好') + reply('a')


def test_invalid_utf8_becomes_replacement_characters_and_the_server_goes_on(echo, peers):
    client = peers.connect(echo.port)
    client.send(b'\xffok')
    client.wait_for(reply('\ufffdok'))
    client.send('again')
    client.wait_for(reply('again'))
    other = peers.connect(echo.port)
    other.send('new client')
    other.wait_for(reply('new client'))


def test_serves_several_clients_at_once_each_its_own_answers(echo, peers):
    clients = [peers.connect(echo.port) for _ in range(10)]
    answers = {client: reply('client %d' % index) for index, client in enumerate(clients)}
    for index, client in enumerate(clients):
        client.send('client %d' % index)
    pump(clients, lambda client: len(client.received) >= len(answers[client]),
         timeout=timeouts.SHORT, what='their answers')
    for client in clients:
        assert bytes(client.received) == answers[client]


def test_answer_arrives_before_the_close_when_the_client_half_closes(echo, peers, log):
    client = peers.connect(echo.port)
    client.send('bye')
    client.sock.shutdown(socket.SHUT_WR)
    client.wait_for_eof()
    assert bytes(client.received) == reply('bye')


def test_client_that_sends_without_reading_only_slows_itself(echo, peers, log):
    hog = peers.connect(echo.port, filler=b'x')
    # Send until the kernel takes no more: the server has stopped reading from the hog
    # because the hog does not read its answers. The cap only bounds a broken server.
    hog.sock.setblocking(False)
    block, sent = b'x' * 65536, 0
    while sent < 256 * 1024 * 1024:
        try:
            sent += hog.sock.send(block)
        except BlockingIOError:
            break
    hog.sock.settimeout(timeouts.SOCKET)

    other = peers.connect(echo.port)
    other.send('still served')
    other.wait_for(reply('still served'))

    pump([hog], lambda peer: peer.filler_count >= sent, timeout=timeouts.LONG,
         what='the answers to all %d bytes sent' % sent)
    assert hog.filler_count == sent
    assert not hog.received.replace(reply(''), b''), 'only "收到: " and the x should come back'
    assert not any('dropped' in line for line in log)


def test_newcomer_beyond_max_clients_is_told_and_closed(peers):
    log = []
    with serve_in_thread(EchoServer(port=0, max_clients=1, log=log.append)) as echo:
        first = peers.connect(echo.port)
        first.send('hi')
        first.wait_for(reply('hi'))       # answered, so counted
        late = peers.connect(echo.port)
        late.wait_for_eof()
        assert bytes(late.received) == FULL_NOTICE.format(max_clients=1).encode('utf-8')
        assert '%s refused: room full (1/1 online)' % late.addr in log
        first.send('still')
        first.wait_for(reply('still'))
