"""The hub's room-full check, in a file of its own so that an instructor can hold it back.

A check's visibility (when students see it on Gradescope) is set on its marker or when the
Gradescope bundle is built (``python -m grader gradescope --visibility
hub_room_full=after_due_date``); a held-back check's file is left out of the students' kit,
which is why a check one may want to hold back lives alone. This one is visible by default:
the kit grades as Gradescope does. It is part hub (the file's name up to the first
underscore after check_, see grader.plugin.part_of) and comes after check_hub.py's checks, as before.
"""

import pytest

from grader import timeouts
from grader.findings import fail, say
from grader.matching import departure_notice
from grader.peers import trimmed
from grader.process import WaitTimeout
from grader.scoring import Part
from grader.steps import peer_gets, peer_sees_end, room


@pytest.mark.check(points=2, short=("满员时拒绝, 离开后可再进", "room full: refused, place reused"),
                   zh="聊天室满了 (最大客户端数量) 时, 新来的客户端会被拒绝, 有人离开后位置又能用吗?", parts=[
    Part("turned_away", 1, "第三个客户端被拒绝, 里面的两人照常聊天", "a third client is turned away, the two inside go on"),
    Part("place_reused", 1, "有人离开后 (发 q 或直接断开), 新来的客户端能进来",
         "after someone leaves (with q, or closing), a newcomer gets in")])
def check_hub_room_full(lab):
    """When the room is full, is a newcomer turned away, and is a place given back when someone leaves?"""
    server = lab.start_server("hub", max_clients=2)
    a, b = room(lab, server, ["A", "B"])
    with lab.part("turned_away"):
        third = lab.connect(server, "C")
        peer_sees_end(third, zh="最大客户端数量是 2, 第三个客户端却被留在了聊天室里。",
                      en="With at most 2 clients, a third client was let in and kept.",
                      hints=["listen-backlog"], timeout=timeouts.CHECK)
        lab.send(a, "two of us")
        peer_gets(b, "two of us", zh="拒绝第三个客户端后, 聊天室不再转发消息。",
                  en="After turning the third client away, the room stopped relaying.",
                  hints=["send-to-departed", "no-relay"], timeout=timeouts.RELAY)
    with lab.part("place_reused"):
        lab.send(a, "q")
        try:
            a.wait_for_eof(timeout=timeouts.RELAY)  # the room has let A go
        except WaitTimeout:
            pass  # judged by the departure checks; here only the free place counts
        d = newcomer_gets_in(lab, server, "D", "A", "B", "q")
        # A place is given back however its client left: B now closes without q.
        b.close()
        try:
            d.wait_for(departure_notice(b.address), timeout=timeouts.RELAY)  # B is gone
        except WaitTimeout:
            pass  # judged by the departure checks; here only the free place counts
        newcomer_gets_in(lab, server, "E", "B", "D", "closes without q")


def newcomer_gets_in(lab, server, name, left, inside, how):
    """A newcomer ``name`` connects once ``left`` has left the full room (``how``) and only
    ``inside`` is in: it must be let in, not turned away; returns its peer."""
    marks = (server.output_mark(), server.error_mark())
    peer = lab.connect(server, name)
    lab.wait_taken_in(server, peer, marks)
    # Let in means not turned away: a refusal comes at once, so a short wait tells.
    try:
        peer.wait_for_eof(timeout=timeouts.ABSENCE)
    except WaitTimeout:
        return peer
    fail("%s 离开 (%s) 后, 新来的客户端 %s 被拒绝了 (%s 的位置没有还回来)。" % (left, how, name, left),
         "After %s left (%s), the newcomer %s was turned away (%s's place was not given back)."
         % (left, how, name, left),
         expected=say("%s 进入聊天室 (最多 2 人, 现在只有 %s)" % (name, inside),
                      "%s gets in (at most 2, and only %s is left)" % (name, inside)),
         got=say("%s 收到 %s, 然后连接被关闭" % (name, trimmed(peer.received)),
                 "%s received %s and then the connection was closed" % (name, trimmed(peer.received))),
         hints=["room-count"])
