"""Checks of chat_server.py in hub mode (the chat room): the grader answers the prompts
(port, hub, most clients) and plays several clients at once."""

import re
import threading
import time

import pytest

from grader import timeouts
from grader.lab import FLOOD_CHARS, fail, relay_pattern
from grader.peers import pump, trimmed
from grader.process import WaitTimeout
from grader.steps import END_WORDS, join_hub, no_flood, peer_gets, peer_sees_end

#: Messages of the many-talkers check: each client sends this many, tagged.
TALK_ROUNDS = 20
#: Newcomers of the join-while-talking check; at most how many messages each of the two
#: talkers sends meanwhile, each padded with FILLER to TALK_SIZE bytes so that the room
#: spends its time relaying (the peers count filler bytes instead of keeping them). The
#: filler byte appears in no address, prefix or notice, so a talker's partner counts
#: exactly the filler of the talk that reached it.
JOINERS = 24
TALK_STEP = 12
TALK_LIMIT = (JOINERS + 8) * TALK_STEP
TALK_SIZE = 1000
FILLER = b"~"


def departure_notice(address):
    """A regex for a notice that ``address`` left, in either order of address and word."""
    name = relay_pattern(address).pattern
    return re.compile(r"%s[^\n]{0,40}?(?:%s)|(?:%s)[^\n]{0,40}?%s"
                      % (name, END_WORDS.pattern, END_WORDS.pattern, name))


def expect_departure(lab, server, leaver, others, marks, closed_by_us=False):
    """Every peer in ``others`` gets a notice naming ``leaver`` (after its mark), and the
    leaver's connection is closed by the server (unless we closed it ourselves)."""
    notice = departure_notice(leaver.address)
    for other in others:
        try:
            other.wait_for(notice, timeout=timeouts.RELAY)
        except WaitTimeout:
            news = other.received[marks[other]:].decode("utf-8", "replace")
            named = [peer.name for peer in others
                     if departure_notice(peer.address).search(news)]
            flood = news.count(leaver.addr) > 20 or len(news) > FLOOD_CHARS
            hints = (["empty-recv"] if flood else []) + (
                ["wrong-client"] if named else ["no-departure-notice"])
            fail("%s 离开后, %s 没有收到写着 %s 的离开通知。" % (leaver.name, other.name, leaver.addr),
                 "After %s left, %s got no notice naming %s." % (leaver.name, other.name, leaver.addr),
                 expected="a notice such as %s已经离开了" % leaver.addr,
                 got="%s received %s%s" % (other.name, trimmed(news),
                                           " (it names %s instead)" % ", ".join(named) if named else ""),
                 hints=hints)
    if closed_by_us:
        return
    peer_sees_end(leaver, zh="%s 离开后, 服务器没有关闭它的连接。" % leaver.name,
                  en="After %s left, the server did not close its connection." % leaver.name,
                  hints=["wrong-client", "no-departure-notice"], timeout=timeouts.CHECK)


def room_still_works(lab, sender, receiver, text):
    lab.send(sender, text)
    peer_gets(receiver, text,
              zh="有人离开后, 聊天室不再转发消息 (%s → %s)。" % (sender.name, receiver.name),
              en="After someone left, the room stopped relaying (%s → %s)." % (sender.name, receiver.name),
              hints=["send-to-departed", "dict-changed"], timeout=timeouts.RELAY)


@pytest.mark.check(points=7, zh="hub 模式下, 你的服务器会把一条消息转发给其他每一个客户端吗?")
def test_hub_relays_to_others(lab):
    """In hub mode, does your server relay a message to every other client?"""
    server = lab.start_server("hub")
    a, b, c = join_hub(lab, server, ["A", "B", "C"])
    lab.send(a, "大家好, hub")
    for other in (b, c):
        peer_gets(other, "大家好, hub", zh="A 的消息没有转发给 %s。" % other.name,
                  en="A's message was not relayed to %s." % other.name, hints=["no-relay"])


@pytest.mark.check(points=4, zh="hub 模式下, 消息不会被发回给发送者自己吗?")
def test_hub_not_back_to_sender(lab):
    """In hub mode, does your server keep a message from going back to its sender?"""
    server = lab.start_server("hub")
    a, b, c = join_hub(lab, server, ["A", "B", "C"])
    lab.send(a, "not for A itself")
    peer_gets(b, "not for A itself", zh="A 的消息没有转发给 B。",
              en="A's message was not relayed to B.", hints=["no-relay"])
    try:
        a.assert_absent("not for A itself")
    except AssertionError:
        fail("A 发出的消息又被发回给了 A 自己。", "A's own message was sent back to A.",
             expected="A never receives 'not for A itself'", got=trimmed(a.received),
             hints=["echo-to-sender"])


@pytest.mark.check(points=5, zh="几个客户端同时说话时, 每条消息都正好转发一次、顺序不乱吗?")
def test_hub_many_talking(lab):
    """When several clients talk at once, does every message reach every other client once, in order?"""
    server = lab.start_server("hub")
    peers = join_hub(lab, server, ["A", "B", "C", "D"])
    for peer in peers:
        peer.mark = len(peer.received)
    lab.note("A, B, C and D each send %d tagged messages, interleaved" % TALK_ROUNDS)
    for round_ in range(TALK_ROUNDS):
        for index, peer in enumerate(peers):
            peer.send("t%d-%d;" % (index, round_))

    def tags_for(peer):
        return ["t%d-%d;" % (index, round_) for index, sender in enumerate(peers)
                if sender is not peer for round_ in range(TALK_ROUNDS)]

    try:
        pump(peers, lambda p: all(tag.encode() in p.received for tag in tags_for(p)),
             timeout=timeouts.CHECK, what="all the other clients' messages")
    except WaitTimeout as missing:
        fail("几个客户端同时说话时, 有消息没有转发到。", "With several clients talking, messages went missing.",
             expected="each client gets the %d messages of the other three" % (3 * TALK_ROUNDS),
             got=str(missing).split("\n")[0], hints=["no-relay", "dict-changed"])
    for peer in peers:
        news = peer.received[peer.mark:].decode("utf-8", "replace")
        for index, sender in enumerate(peers):
            tags = ["t%d-%d;" % (index, round_) for round_ in range(TALK_ROUNDS)]
            if sender is peer:
                if any(tag in news for tag in tags):
                    fail("%s 收到了它自己发的消息。" % peer.name, "%s got its own messages back." % peer.name,
                         hints=["echo-to-sender"])
                continue
            counts = [news.count(tag) for tag in tags]
            positions = [news.find(tag) for tag in tags]
            if counts != [1] * TALK_ROUNDS or positions != sorted(positions):
                fail("%s 收到 %s 的消息不是正好各一次、按顺序。" % (peer.name, sender.name),
                     "%s did not get %s's messages exactly once each, in order." % (peer.name, sender.name),
                     expected=" ".join(tags[:4]) + " ... once each, in this order",
                     got=trimmed(news), hints=["no-relay"])


@pytest.mark.check(points=5, zh="客户端发 q 离开后, 其他人会被告知是谁离开了, 聊天室还能继续用吗?")
def test_hub_q_departure(lab):
    """When a client sends q, are the others told who left, and does the room keep working?"""
    server = lab.start_server("hub")
    a, b, c = join_hub(lab, server, ["A", "B", "C"])
    marks = {peer: len(peer.received) for peer in (b, c)}
    lab.send(a, "q")
    expect_departure(lab, server, a, [b, c], marks)
    room_still_works(lab, b, c, "B is still here")


@pytest.mark.check(points=4, zh="客户端不发 q 直接断开时, 其他人会被告知、不会刷屏, 聊天室还能继续用吗?")
def test_hub_abrupt_departure(lab):
    """When a client disconnects without q, are the others told, with no flood, and does the room keep working?"""
    server = lab.start_server("hub")
    a, b, c = join_hub(lab, server, ["A", "B", "C"])
    marks = {peer: len(peer.received) for peer in (b, c)}
    before = server.output_size()
    lab.note("A closes its connection without sending q")
    a.close()
    expect_departure(lab, server, a, [b, c], marks, closed_by_us=True)
    room_still_works(lab, b, c, "B is still here")
    # A loop relaying empty messages would keep sending: give it a moment to show.
    b.assert_absent("\0never sent\0")
    news = b.received[marks[b]:]
    if news.count(a.addr.encode()) > 20 or len(news) > FLOOD_CHARS:
        fail("A 断开后, 服务器不停地向 B 转发空消息 (刷屏)。",
             "After A disconnected, the server kept relaying empty messages to B (a flood).",
             expected="one departure notice", got="%d bytes: %s" % (len(news), trimmed(news)),
             hints=["empty-recv"])
    no_flood(server, before, zh="A 断开后, 你的服务器不停地打印 (刷屏)。",
             en="After A disconnected, your server printed in a loop (a flood).")


@pytest.mark.check(points=3, zh="别人正在聊天时, 新客户端能加入 (和离开) 吗?")
def test_hub_join_while_talking(lab):
    """Can clients join and leave while others are talking?"""
    server = lab.start_server("hub", max_clients=JOINERS + 4)
    a, b = join_hub(lab, server, ["A", "B"], filler=FILLER)
    lab.note("A and B talk flat out while %d clients join, every other one leaving half a "
             "step later" % JOINERS)
    # The talk runs on its own thread so that the room is in the middle of relaying whenever
    # someone joins or leaves: that is when an unguarded ip_client breaks. Each join waits
    # until the talk has moved on by TALK_STEP messages, so joins and talk interleave.
    talker = Talker(a, b)
    joiners = []
    for number in range(JOINERS):
        talker.wait_sent((number + 1) * TALK_STEP)
        joiner = lab.connect(server, "N%d" % number, filler=FILLER)
        if number % 2:
            # The previous newcomer leaves half a step later: a join and a leave in the same
            # moment would leave the size of an unguarded dict unchanged, and Python raises
            # "changed size during iteration" only when the size differs.
            talker.wait_sent((number + 1) * TALK_STEP + TALK_STEP // 2)
            joiners.pop().close()
        joiners.append(joiner)
        talker.allow((number + 3) * TALK_STEP)
    talker.stop()
    try:
        # The room relays each chunk it reads with a prefix, and a chunk may end anywhere: a
        # last word sent while the hub still reads the talk behind it could come out as
        # "final fr" + prefix + "om B;". So the finale waits until A and B have each got all
        # of the other's talk (the hub has read every byte of it) before anyone speaks.
        pump([a, b], lambda p: p.filler_count >= talker.filler_sent[b if p is a else a],
             timeout=timeouts.CHECK, what="the rest of the talk")
        # Every newcomer still here says hello, so we know it is in the room before the finale.
        for joiner in joiners:
            lab.send(joiner, "hello from %s;" % joiner.name)
        pump([a], lambda p: all(("hello from %s;" % j.name).encode() in p.received
                                for j in joiners),
             timeout=timeouts.CHECK, what="the newcomers' hellos")
        # Then everyone says a last word, which everyone else must get: a relaying thread
        # that died in the churn leaves its client's last word undelivered.
        everyone = [a, b] + joiners
        finals = {peer: ("final from %s;" % peer.name).encode() for peer in everyone}
        for peer in everyone:
            lab.send(peer, finals[peer].decode())
        pump(everyone, lambda p: all(final in p.received for other, final in finals.items()
                                     if other is not p),
             timeout=timeouts.CHECK, what="everyone's last word")
    except WaitTimeout as missing:
        fail("有客户端加入或离开时, 聊天室出了问题: 之后的消息没有转发给所有人。",
             "While clients joined and left, the room broke: later messages did not reach everyone.",
             expected="every client in the room gets every later message",
             got=str(missing).split("\n")[0], hints=["dict-changed", "send-to-departed"])


class Talker:
    """Sends padded, tagged messages from two peers on a thread of its own, counting what
    it has sent, never more than it is allowed (so the talk lasts as long as the joins do,
    a couple of steps ahead of them) and at most TALK_LIMIT."""

    def __init__(self, a, b):
        self.peers = ((a, b"a"), (b, b"b"))
        self.filler_sent = {a: 0, b: 0}
        self.sent = 0
        self.allowed = 2 * TALK_STEP
        self.done = False
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._talk, daemon=True, name="talker")
        self._thread.start()

    def _talk(self):
        try:
            for number in range(TALK_LIMIT):
                with self._changed:
                    while number >= self.allowed and not self._stop.is_set():
                        self._changed.wait(timeouts.CHECK)
                if self._stop.is_set():
                    break
                for peer, tag in self.peers:
                    message = b"%s%d;" % (tag, number)
                    peer.sock.sendall(message + FILLER * (TALK_SIZE - len(message)))
                    self.filler_sent[peer] += TALK_SIZE - len(message)
                with self._changed:
                    self.sent += 1
                    self._changed.notify_all()
        except OSError:
            pass  # the room stopped reading us; the finale will tell
        finally:
            with self._changed:
                self.done = True
                self._changed.notify_all()

    def wait_sent(self, count):
        """Wait until ``count`` messages went out (or the talk ended, or the deadline)."""
        deadline = time.monotonic() + timeouts.CHECK
        with self._changed:
            while self.sent < count and not self.done:
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                self._changed.wait(left)

    def allow(self, count):
        with self._changed:
            self.allowed = count
            self._changed.notify_all()

    def stop(self):
        self._stop.set()
        with self._changed:
            self._changed.notify_all()
        self._thread.join(timeouts.CHECK)


@pytest.mark.check(points=2, zh="聊天室满了 (最大客户端数量) 时, 新来的客户端会被拒绝吗?")
def test_hub_room_full(lab):
    """When the room is full (most clients reached), is a newcomer turned away?"""
    server = lab.start_server("hub", max_clients=2)
    a, b = join_hub(lab, server, ["A", "B"])
    third = lab.connect(server, "C")
    peer_sees_end(third, zh="最大客户端数量是 2, 第三个客户端却被留在了聊天室里。",
                  en="With at most 2 clients, a third client was let in and kept.",
                  hints=["listen-backlog"], timeout=timeouts.CHECK)
    lab.send(a, "two of us")
    peer_gets(b, "two of us", zh="拒绝第三个客户端后, 聊天室不再转发消息。",
              en="After turning the third client away, the room stopped relaying.",
              hints=["send-to-departed"])
