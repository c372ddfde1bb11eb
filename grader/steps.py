"""Steps that many checks share, each a wait with a deadline that fails with a Finding.

They judge by the wire first (bytes delivered, end of stream seen, process alive or
ended) and by stdout second (the message text present), never by the exact wording of
free text.
"""

import re

from . import timeouts
from .lab import FLOOD_CHARS, fail
from .peers import trimmed
from .process import WaitTimeout

#: Words that say "the chat is over" / "someone left", in the lab's Chinese or in English.
END_WORDS = re.compile(r"结束|断开|关闭|退出|离开|(?i:\b(?:end|ended|closed|disconnected|left|quit|exit)\b)")


def connected_client(lab, server):
    """The student's client, connected to the classroom ``server``."""
    client = lab.start_client(server.port)
    lab.client_joined(client, server)
    return client


def client_with_peer(lab):
    """The student's client connected to a bare listening peer the check scripts by hand."""
    listener = lab.listener()
    client = lab.start_client(listener.port)
    return client, lab.client_accepted(client, listener)


def peer_gets(peer, text, zh, en, hints, timeout=timeouts.CHECK):
    """Wait until ``peer`` has received ``text``; otherwise fail with what it did get."""
    try:
        peer.wait_for(text, timeout=timeout)
    except WaitTimeout:
        fail(zh, en, expected="%s receives %r" % (peer.name, text),
             got="%s received %s%s" % (peer.name, trimmed(peer.received),
                                       " and then the connection was closed" if peer.eof else ""),
             hints=hints)


def peer_sees_end(peer, zh, en, hints, timeout=timeouts.EXIT_BAR):
    """Wait until the other side closes ``peer``'s connection; otherwise fail."""
    try:
        peer.wait_for_eof(timeout=timeout)
    except WaitTimeout:
        fail(zh, en, expected="%s sees the connection closed" % peer.name,
             got="still open after %.0f s" % timeout, hints=hints)


def printed(program, text, zh, en, hints, timeout=timeouts.CHECK):
    """Wait until ``text`` appears on the student's stdout; otherwise fail."""
    if not program.wait_output(text, timeout):
        fail(zh, en, expected="stdout shows %r" % (text,),
             got="stdout ends with %s" % trimmed(program.stdout[-600:], 300), hints=hints)


def flooding(program, since):
    """True if the program was stopped for a flood, or printed more than a flood's worth
    since output size ``since``."""
    return program.flooded or program.output_size() - since > FLOOD_CHARS


def ends(program, zh, en, hints=("no-exit",), timeout=timeouts.EXIT_BAR, since=None):
    """Wait until the student's program has ended; otherwise fail (it would hang).

    ``since`` is the output size before the event that should end the program: a program
    that printed a flood's worth after it is still printing in a loop, so the empty-recv
    hint goes first. This is judged after the wait, when the flood has had time to show.
    """
    status = program.wait_exit(timeout)
    looping = program.flooded if since is None else flooding(program, since)
    if looping:
        hints = ["empty-recv"] + [hint for hint in hints if hint != "empty-recv"]
    if status is None:
        fail(zh, en, expected="the program ends within %.0f s" % timeout,
             got="still running after %.0f s%s" % (
                 timeout, " and printing in a loop" if looping else ""), hints=hints)
    if program.flooded:
        fail(zh, en, expected="the program ends by itself",
             got="it printed in a loop until the grader stopped it (a flood)", hints=hints)


def no_flood(program, since, zh, en):
    """Fail if the program printed more than a flood's worth since output size ``since``."""
    if flooding(program, since):
        grown = program.output_size() - since
        fail(zh, en, expected="a few lines of output",
             got="%s characters of output%s" % (
                 "more than %d" % grown if program.flooded else grown,
                 " (the program was stopped)" if program.flooded else ""),
             hints=["empty-recv"])


def warm_up(lab, peer, program, text):
    """Exchange one message ``peer`` → program and wait until it is printed: afterwards the
    program's receive loop is running and blocked in recv."""
    lab.send(peer, text)
    printed(program, text,
            zh="你的程序没有打印收到的消息。", en="Your program did not print the message it received.",
            hints=["nothing-printed"])


def join_hub(lab, server, names, filler=None):
    """Connect one peer per name to the student's hub, proving each one is in the room:
    every newcomer sends a probe that all earlier peers must receive."""
    peers = []
    for name in names:
        peer = lab.connect(server, name, filler=filler)
        if peers:
            probe = "probe from %s %d" % (name, peer.address[1])
            lab.send(peer, probe)
            for other in peers:
                peer_gets(other, probe,
                          zh="聊天室没有把新客户端 %s 的消息转发给 %s。" % (name, other.name),
                          en="The hub did not relay newcomer %s's message to %s." % (name, other.name),
                          hints=["no-relay", "thread-not-started"], timeout=timeouts.RELAY)
        peers.append(peer)
    return peers
