"""Checks of chat_server.py in hub mode (the chat room): the grader answers the prompts
(port, hub, most clients) and plays several clients at once.

Every check but one joins its clients at classroom pace (grader.lab.Lab.join: each newcomer
once the room has taken in the one before), so a race in the hub cannot decide a check that
is about something else. The exception is the concurrency check, join-while-talking,
which provokes the races on purpose: clients joining at the same moment, and leaving,
while others talk flat out.

The room-full check is in check_hub_room_full.py, alone, so that it can be held back.
"""

import socket
import threading
import time

import pytest

from grader import timeouts
from grader.findings import fail, say
from grader.lab import FLOOD_CHARS
from grader.matching import address_pattern, departure_notice, relay_of
from grader.peers import Peer, drain, pump, trimmed
from grader.process import WaitTimeout
from grader.scoring import Part
from grader.steps import (
    no_flood, peer_gets, peer_sees_end, room)

#: Messages of the many-talkers check: each client sends this many, tagged.
TALK_ROUNDS = 20
#: Newcomers of the join-while-talking check, joining BURST at the same moment; at most how
#: many messages each of the two talkers sends meanwhile, each padded with FILLER to
#: TALK_SIZE bytes so that the room spends its time relaying (the peers count filler bytes
#: instead of keeping them). The filler byte appears in no address, prefix or notice, so a
#: talker's partner counts exactly the filler of the talk that reached it.
JOINERS = 48
BURST = 3
TALK_STEP = 12
TALK_LIMIT = (JOINERS + 8) * TALK_STEP
TALK_SIZE = 1000
FILLER = b"~"
#: A hub may print each relay once per recipient (a debugging print in the relay loop):
#: characters of output allowed per byte of talk, beyond the flood limit, while it lasts
#: (at most JOINERS + 2 in the room, and a prefix per line).
LOG_PER_TALK_BYTE = JOINERS + 4


def expect_notice(leaver, others, marks):
    """Every peer in ``others`` gets a notice naming ``leaver`` (after its mark)."""
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
            instead = ", ".join(named)
            fail("%s 离开后, %s 没有收到写着 %s 的离开通知。" % (leaver.name, other.name, leaver.addr),
                 "After %s left, %s got no notice naming %s." % (leaver.name, other.name, leaver.addr),
                 expected=say("一条通知, 例如 %s已经离开了" % leaver.addr,
                              "a notice such as %s已经离开了" % leaver.addr),
                 got=say("%s 收到了 %s%s" % (other.name, trimmed(news),
                                             " (通知的是 %s)" % instead if named else ""),
                         "%s received %s%s" % (other.name, trimmed(news),
                                               " (it names %s instead)" % instead if named else "")),
                 hints=hints)


def room_still_works(lab, pairs):
    """After a departure, each (sender, receiver, text) still gets through."""
    for sender, receiver, text in pairs:
        lab.send(sender, text)
        peer_gets(receiver, text,
                  zh="有人离开后, 聊天室不再转发消息 (%s → %s)。" % (sender.name, receiver.name),
                  en="After someone left, the room stopped relaying (%s → %s)." % (sender.name, receiver.name),
                  hints=["send-to-departed", "dict-changed", "shared-dict"], timeout=timeouts.RELAY)


def relayed(lab, sender, receivers, text, zh, en):
    lab.send(sender, text)
    for other in receivers:
        peer_gets(other, text, zh=zh % (sender.name, other.name), en=en % (sender.name, other.name),
                  hints=["no-relay", "thread-not-started"], timeout=timeouts.RELAY)


@pytest.mark.check(points=7, short=("转发给其他每个人, 标明发送者", "relays to all others, sender named"),
                   zh="hub 模式下, 你的服务器会把消息转发给其他每一个客户端, 并标明发送者吗?", parts=[
    Part("delivered", 5, "每条消息都到达其他每一个客户端", "every message reaches every other client"),
    Part("sender_prefix", 2, "转发的消息以发送者的地址开头", "each relay starts with its sender's address")])
def check_hub_relays_to_others(lab):
    """In hub mode, does your server relay each message to every other client, with its sender's address?"""
    server = lab.start_server("hub")
    a, b, c = room(lab, server, ["A", "B", "C"])
    said = [(a, (b, c), "大家好, hub"), (a, (b, c), "a quick question for the room"),
            (b, (a, c), "B answers: 在的")]
    with lab.part("delivered"):
        for sender, receivers, text in said:
            relayed(lab, sender, receivers, text, zh="%s 的消息没有转发给 %s。",
                    en="%s's message was not relayed to %s.")
    with lab.part("sender_prefix"):
        for sender, receivers, text in said:
            for other in receivers:
                if not relay_of(sender.address, text).search(other.text):
                    fail("转发给 %s 的消息没有以发送者 %s 的地址 %s 开头。" % (other.name, sender.name, sender.addr),
                         "The relay to %s does not start with the sender %s's address %s."
                         % (other.name, sender.name, sender.addr),
                         expected="%s : %s" % (sender.addr, text), got=trimmed(other.received),
                         hints=["relay-prefix"], details={"relay-prefix": trimmed(other.received, 120)})


@pytest.mark.check(points=4, short=("不发回给发送者", "never back to the sender"),
                   zh="hub 模式下, 消息不会被发回给发送者自己吗 (聊天室里两个人和三个人时)?")
def check_hub_not_back_to_sender(lab):
    """In hub mode, does your server keep a message from going back to its sender (two in the room, then three)?"""
    server = lab.start_server("hub")
    a, b = room(lab, server, ["A", "B"])
    relayed(lab, a, (b,), "just for B", zh="%s 的消息没有转发给 %s。", en="%s's message was not relayed to %s.")
    # C's join gives an echo of "just for B" all the time it needs to show at A.
    c = lab.join(server, "C")
    relayed(lab, a, (b, c), "not for A itself", zh="%s 的消息没有转发给 %s。",
            en="%s's message was not relayed to %s.")
    drain([a])
    for text in ("just for B", "not for A itself"):
        try:
            a.assert_absent(text, within=timeouts.ABSENCE if text != "just for B" else 0.0)
        except AssertionError:
            fail("A 发出的消息又被发回给了 A 自己。", "A's own message was sent back to A.",
                 expected=say("A 从来收不到 %r" % text, "A never receives %r" % text),
                 got=trimmed(a.received), hints=["echo-to-sender"])


@pytest.mark.check(points=5, short=("多人同时说话: 各一次、按顺序", "many talking: once each, in order"),
                   zh="几个客户端同时说话时, 每条消息都正好转发一次、顺序不乱吗?")
def check_hub_many_talking(lab):
    """When several clients talk at once, does every message reach every other client once, in order?"""
    server = lab.start_server("hub")
    peers = room(lab, server, ["A", "B", "C", "D"])
    for peer in peers:
        peer.mark = len(peer.received)
    lab.note(say("A, B, C, D 每人交替发出 %d 条带编号的消息" % TALK_ROUNDS,
                 "A, B, C and D each send %d tagged messages, interleaved" % TALK_ROUNDS))
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
             expected=say("每个客户端收到其他三人的 %d 条消息" % (3 * TALK_ROUNDS),
                          "each client gets the %d messages of the other three" % (3 * TALK_ROUNDS)),
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
                     expected=say(" ".join(tags[:4]) + " ... 各一次, 按这个顺序",
                                  " ".join(tags[:4]) + " ... once each, in this order"),
                     got=trimmed(news), hints=["no-relay"])


@pytest.mark.check(points=5, short=("q 离开: 通知、关闭、照常", "q: others told, room goes on"),
                   zh="客户端发 q 离开后, 其他人会被告知是谁离开了, 聊天室还能继续用吗?", parts=[
    Part("notice", 3, "其他人收到写着离开者地址的通知", "the others get a notice naming who left"),
    Part("closed", 1, "离开者的连接被关闭", "the leaver's connection is closed"),
    Part("room_works", 1, "之后聊天室照常转发", "the room goes on relaying")])
def check_hub_q_departure(lab):
    """When a client sends q, are the others told who left, and does the room keep working?"""
    server = lab.start_server("hub")
    a, b, c = room(lab, server, ["A", "B", "C"])
    marks = {peer: len(peer.received) for peer in (b, c)}
    lab.send(a, "q")
    with lab.part("notice"):
        expect_notice(a, [b, c], marks)
    with lab.part("closed"):
        peer_sees_end(a, zh="A 离开后, 服务器没有关闭它的连接。",
                      en="After A left, the server did not close its connection.",
                      hints=["wrong-client", "no-departure-notice"], timeout=timeouts.EXIT_BAR)
    with lab.part("room_works"):
        room_still_works(lab, [(b, c, "B is still here"), (c, b, "C quickly answers")])


@pytest.mark.check(points=4, short=("直接断开: 通知、不刷屏、照常", "gone without q: told, no flood"),
                   zh="客户端不发 q 直接断开时, 其他人会被告知、不会刷屏, 聊天室还能继续用吗?", parts=[
    Part("notice", 2, "其他人收到写着离开者地址的通知", "the others get a notice naming who left"),
    Part("no_flood", 1, "没有刷屏 (没有空消息转发)", "no flood (no empty relays, no endless output)"),
    Part("room_works", 1, "之后聊天室照常转发", "the room goes on relaying")])
def check_hub_abrupt_departure(lab):
    """When a client disconnects without q, are the others told, with no flood, and does the room keep working?"""
    server = lab.start_server("hub")
    a, b, c = room(lab, server, ["A", "B", "C"])
    marks = {peer: len(peer.received) for peer in (b, c)}
    before = server.output_size()
    lab.note(say("A 不发 q 直接关闭连接", "A closes its connection without sending q"))
    a.close()
    with lab.part("notice"):
        expect_notice(a, [b, c], marks)
    with lab.part("room_works"):
        room_still_works(lab, [(b, c, "B is still here"), (c, b, "C quickly answers")])
    with lab.part("no_flood"):
        # A loop relaying empty messages would keep sending: the relays above gave it time.
        drain([b])
        news = b.received[marks[b]:]
        if news.count(a.addr.encode()) > 20 or len(news) > FLOOD_CHARS:
            fail("A 断开后, 服务器不停地向 B 转发空消息 (刷屏)。",
                 "After A disconnected, the server kept relaying empty messages to B (a flood).",
                 expected=say("一条离开通知", "one departure notice"),
                 got=say("%d 字节: %s" % (len(news), trimmed(news)),
                         "%d bytes: %s" % (len(news), trimmed(news))), hints=["empty-recv"])
        no_flood(server, before, zh="A 断开后, 你的服务器不停地打印 (刷屏)。",
                 en="After A disconnected, your server printed in a loop (a flood).")


@pytest.mark.check(points=3, short=("聊天时同时加入和离开", "joins and leaves while talking"),
                   zh="别人正在聊天时, 新客户端能同时加入 (和离开) 吗?")
def check_hub_join_while_talking(lab):
    """Can clients join at the same moment, and leave, while others are talking?"""
    server = lab.start_server("hub", max_clients=JOINERS + 4)
    a, b = room(lab, server, ["A", "B"], filler=FILLER)
    lab.note(say("A 和 B 不停地说话, 同时 %d 个客户端每 %d 个一起加入, 每批加入后上一批有一个离开"
                 % (JOINERS, BURST),
                 "A and B talk flat out while %d clients join, %d at the same moment, one of the "
                 "batch before leaving half a step later" % (JOINERS, BURST)))
    # The talk runs on its own thread so that the room is in the middle of relaying whenever
    # someone joins or leaves: that is when an unguarded ip_client breaks. Each batch joins
    # at once (a thread that starts by iterating ip_client races the accept loop then), and
    # waits until the talk has moved on by TALK_STEP messages, so joins and talk interleave.
    talker = Talker(a, b)
    # Output in proportion to the talk is not a flood: a hub whose relay loop prints each
    # message for each recipient prints ~30 MB here. A loop printing without input still is.
    server.allow_output(lambda: LOG_PER_TALK_BYTE * 2 * TALK_SIZE * talker.sent)
    joiners = []
    for step in range(JOINERS // BURST):
        talker.wait_sent((step + 1) * TALK_STEP)
        mark = (server.output_mark(), server.error_mark())
        batch = connect_at_once(lab, server, ["N%d" % (step * BURST + i) for i in range(BURST)])
        # The batch joined at once; the leave below comes once the room has announced it,
        # so what a leave does to the room does not depend on how fast the hub accepts.
        announced(server, batch, mark)
        if joiners:
            # One of the batch before leaves half a step later: a join and a leave in the
            # same moment would leave the size of an unguarded dict unchanged, and Python
            # raises "changed size during iteration" only when the size differs.
            talker.wait_sent((step + 1) * TALK_STEP + TALK_STEP // 2)
            leave_and_wait(server, joiners.pop(-BURST))
        joiners += batch
        talker.allow((step + 4) * TALK_STEP)
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
             expected=say("聊天室里的每个客户端都收到之后的每一条消息",
                          "every client in the room gets every later message"),
             got=str(missing).split("\n")[0], hints=["dict-changed", "send-to-departed", "shared-dict"])


def announced(server, peers, marks):
    """Wait (at most RELAY in all) until the server printed every peer's address after
    ``marks`` (stdout, stderr); a server that does not announce joins is not waited for
    again."""
    deadline = time.monotonic() + timeouts.RELAY
    for peer in peers:
        left = deadline - time.monotonic()
        if not server.announces or left <= 0 or not server.wait_said(
                address_pattern(peer.address), timeout=left, since=marks):
            server.announces = False
            return


def leave_and_wait(server, peer):
    """``peer`` leaves as the lab says (q, then its half of the connection closed), then
    waits (at most RELAY) until the server has closed the rest: the room has dealt with the
    leave. A server that never closes is not waited for again. (A leave without q is the
    departure checks' business: here it would let a missing b'' test decide.)"""
    try:
        peer.send("q")
    except OSError:
        pass
    peer.transcript.append((time.monotonic(), "sent", b"", 0))
    try:
        peer.sock.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    if getattr(server, "closes_leavers", True):
        try:
            peer.wait_for_eof(timeout=timeouts.RELAY)
        except WaitTimeout:
            server.closes_leavers = False
    peer.sock.close()


def connect_at_once(lab, server, names):
    """Connect one peer per name with no pause between them: the server accepts them in one
    burst. A peer is kept only once connected (a refused one is simply left out)."""
    peers = []
    for name in names:
        try:
            peer = Peer.connect(server.port, name=name, filler=FILLER)
        except OSError:
            continue
        lab.peers.append(peer)
        peers.append(peer)
    return peers


class Talker:
    """Sends padded, tagged messages from two peers on a thread of its own, counting what
    it has sent, never more than it is allowed (so the talk lasts as long as the joins do,
    a couple of steps ahead of them) and at most TALK_LIMIT."""

    def __init__(self, a, b):
        self.peers = ((a, b"a"), (b, b"b"))
        self.filler_sent = {a: 0, b: 0}
        self.sent = 0
        self.allowed = 3 * TALK_STEP
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
