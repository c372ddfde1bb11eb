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
from grader.peers import trimmed
from grader.process import WaitTimeout
from grader.scoring import Part
from grader.steps import peer_gets, peer_sees_end, room


@pytest.mark.check(points=2, short=("满员时拒绝, 离开后可再进", "room full: refused, place reused"),
                   zh="聊天室满了 (最大客户端数量) 时, 新来的客户端会被拒绝, 有人离开后位置又能用吗?", parts=[
    Part("turned_away", 1, "第三个客户端被拒绝, 里面的两人照常聊天", "a third client is turned away, the two inside go on"),
    Part("place_reused", 1, "有人离开后, 新来的客户端能进来", "after someone leaves, a newcomer gets in")])
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
        mark = (server.output_mark(), server.error_mark())
        d = lab.connect(server, "D")
        lab.wait_taken_in(server, d, mark)
        # Let in means not turned away: a refusal comes at once, so a short wait tells.
        try:
            d.wait_for_eof(timeout=timeouts.ABSENCE)
        except WaitTimeout:
            return
        fail("A 离开后, 新来的客户端 D 被拒绝了 (A 的位置没有还回来)。",
             "After A left, the newcomer D was turned away (A's place was not given back).",
             expected=say("D 进入聊天室 (最多 2 人, 现在只有 B)", "D gets in (at most 2, and only B is left)"),
             got=say("D 收到 %s, 然后连接被关闭" % trimmed(d.received),
                     "D received %s and then the connection was closed" % trimmed(d.received)),
             hints=["room-count"])
