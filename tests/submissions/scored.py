"""Realistic student submissions, scored: one folder per program, each with the one file it is.

Every ``<slug>/chat_client.py`` or ``<slug>/chat_server.py`` here started, like those of
``catalog.py``, as the reference with the instructor's ``###`` lines removed, then got the one
change its slug names, written the way students of this lab write it (no comment names it).

- ``ok-``: correct but different (a wording, a format, a way of closing): a TA gives full
  marks, at most with a note that costs nothing.
- ``bug-``: one real bug that a careful TA takes points for.
- ``fw-``: the original course framework's facts (shared/lab-spec.md), graded as fairly as
  our skeleton.

``scores`` maps every check of the file's part(s) (client: CLIENT_CHECKS; server: P2P_CHECKS
and HUB_CHECKS) that does NOT get full marks to the points a careful TA gives it, using the
scored parts of the rewritten checks (CHECK_PARTS below); a check left out gets full marks,
so an ``ok-`` program has ``scores={}`` (the framework's non-daemon send threads lose
only the 1-point "ends" part: a TA takes little for them). ``expect_hint`` is the hint id the grader should show first for the worst failure
(or the no-cost note of an ``ok-``/``fw-`` program, else None). ``why`` says what was seen
on the wire and on stdout when the program was run by hand against loopback peers (scripted
sockets, the instructor echo/hub servers, the reference).

``MAY_FAIL`` lists checks that a race or the grader's own order of events can fail on some
runs although a careful TA gives them full marks.
"""

from collections import namedtuple

from tests.submissions.catalog import CLIENT_CHECKS, HUB_CHECKS, P2P_CHECKS, SERVER_CHECKS, Variant

Scored = namedtuple("Scored", "slug file mistake bug scores expect_hint why")

#: The rewritten checks: check id -> [(part id, points)] (a check without parts: one part).
CHECK_PARTS = {
    "client_sends_typed_line": [("first_line", 4), ("more_lines", 3)],
    "client_prints_received": [("first_message", 4), ("more_messages", 3)],
    "client_in_hub": [("sends", 3), ("receives", 3)],
    "client_q_ends_chat": [("q_sent", 3), ("closed", 3), ("ends", 2)],
    "client_server_closes_first": [("stops", 3), ("reports_end", 2), ("ends", 1)],
    "client_chinese": [("client_chinese", 3)],
    "client_split_character": [("client_split_character", 3)],
    "p2p_announces_client": [("p2p_announces_client", 6)],
    "p2p_prints_messages": [("first_message", 3), ("more_messages", 3)],
    "p2p_sends_typed_lines": [("first_line", 3), ("more_lines", 3)],
    "p2p_q_ends_chat": [("closes", 3), ("announces", 3), ("ends", 1)],
    "p2p_abrupt_disconnect": [("clean", 4), ("ends", 1)],
    "hub_relays_to_others": [("delivered", 5), ("sender_prefix", 2)],
    "hub_not_back_to_sender": [("hub_not_back_to_sender", 4)],
    "hub_many_talking": [("hub_many_talking", 5)],
    "hub_join_while_talking": [("hub_join_while_talking", 3)],
    "hub_q_departure": [("notice", 3), ("closed", 1), ("room_works", 1)],
    "hub_abrupt_departure": [("notice", 2), ("no_flood", 1), ("room_works", 1)],
    "hub_room_full": [("turned_away", 1), ("place_reused", 1)],
}
CHECK_POINTS = {check: sum(points for _, points in parts) for check, parts in CHECK_PARTS.items()}

SCORED = [
    # ================================================================ ok-: full marks
    Scored(
        slug="ok-departure-xiaxian", file="server", mistake=None,
        bug="departures worded <addr>已下线: the p2p notice (instead of 已退出聊天) and the hub's "
            "print and broadcast (instead of 已经离开了)",
        scores={}, expect_hint=None,
        why="hub: B and C receive exactly \"('127.0.0.1', port)已下线\" after A's q or abrupt close, "
            "A sees EOF, B->C still works; p2p: q prints \"('127.0.0.1', port)已下线\", the client sees "
            "EOF, the server exits 0. 下线 is one of the framework's wordings, so the departure "
            "checks must accept it (the current END_WORDS regex does not know 下线)."),
    Scored(
        slug="ok-departure-left-room", file="server", mistake=None,
        bug="hub departure worded <addr>离开了聊天室 (print and broadcast)",
        scores={}, expect_hint=None,
        why="after A's q or abrupt close B and C receive \"('127.0.0.1', port)离开了聊天室\", A sees "
            "EOF, B->C still works; everything else is the reference's. A framework wording: full "
            "marks."),
    Scored(
        slug="ok-client-end-offline", file="client", mistake=None,
        bug="recv_msg prints 服务器已下线 instead of 聊天已结束 when its loop ends",
        scores={}, expect_hint=None,
        why="when the peer closes, the client prints '服务器已下线' and exits 0 at once (19 bytes, no "
            "flood); after q it prints the same line (on Linux the shutdown makes recv return b''), "
            "sends q, closes and exits. reports_end must accept 下线 (the current END_WORDS does "
            "not)."),
    Scored(
        slug="ok-client-holds-split-character", file="client", mistake=None,
        bug="recv_msg keeps the bytes it got until they decode (pending += data; a "
            "UnicodeDecodeError means wait for more) instead of an incremental decoder",
        scores={}, expect_hint=None,
        why="'split test: ' + the first byte of 你 is not printed at all until the rest comes; "
            "then '[127.0.0.1:port] split test: 你好' is one line, intact. Every other message "
            "decodes at once and is printed as it comes. The split check used to wait for "
            "'split test' before sending the rest, so this client waited for it for ever and "
            "lost 3 points; the rest now goes once the client is blocked again."),
    Scored(
        slug="ok-departure-lixian-diaoxian", file="server", mistake=None,
        bug="departures worded <addr>已离线 (p2p q, hub q) and <addr>掉线了 (hub, a client gone "
            "without q), printed and broadcast",
        scores={}, expect_hint=None,
        why="p2p: q prints \"('127.0.0.1', port)已离线\", the client sees EOF, the server exits 0; "
            "hub: after A's q, B and C get \"('127.0.0.1', port)已离线\", after an abrupt close "
            "\"('127.0.0.1', port)掉线了\". Both mean the client left (as 已下线 does), and "
            "telling a quit from a drop is a fair design; END_WORDS knew neither (8 points)."),
    Scored(
        slug="ok-client-end-on-stderr", file="client", mistake=None,
        bug="when its loop ends, recv_msg prints '与服务器的连接已中断, 聊天终止' to stderr "
            "instead of 聊天已结束 to stdout",
        scores={}, expect_hint=None,
        why="the user sees the line on the same console; 中断 and 终止 both say the chat is "
            "over. reports_end read stdout only and knew neither word (2 points)."),
    Scored(
        slug="ok-client-readline-newline", file="client", mistake=None,
        bug="send_msg reads the keyboard with sys.stdin.readline() and sends each line with "
            "its newline ('hello socket-lab\\n', 'q\\n')",
        scores={}, expect_hint="sends-newline",
        why="every line arrives, a newline after each; the servers the lab ships strip a q "
            "before comparing, so q still ends the chat. The protocol has no newline, but no "
            "check's behaviour depends on it, so a TA takes nothing and says so: the note "
            "sends-newline, which costs no points."),
    Scored(
        slug="ok-hub-logs-every-relay", file="server", mistake=None,
        bug="hub_broadcast prints '转发给 <addr>: <text>' on the server console for each recipient",
        scores={}, expect_hint=None,
        why="a debugging print in the relay loop: in join-while-talking (two talkers, 1,000-byte "
            "messages, up to ~35 in the room) it prints some 30 MB. The 4 MiB flood limit "
            "stopped it and the check failed (0/3) although every relay was right; output in "
            "proportion to the talk is now allowed there, and a loop printing without input "
            "is still stopped."),
    Scored(
        slug="ok-server-logs-to-stderr", file="server", mistake=None,
        bug="the connection announcements (p2p and hub) and the p2p leave notice go through "
            "logging.warning (stderr, 'WARNING:root:...') instead of print",
        scores={}, expect_hint=None,
        why="the console shows \"WARNING:root:('127.0.0.1', port)已成功连接!\" and "
            "\"WARNING:root:('127.0.0.1', port)已退出聊天\": the user reads them as any print. "
            "The server's notices were looked for on stdout only (-9: the p2p announcement and "
            "the leave notice); joins were waited for a second each."),
    Scored(
        slug="ok-relay-timestamp-exited", file="server", mistake=None,
        bug="relays carry a time stamp, \"('127.0.0.1', port) [06:54:53]: text\", and departures "
            "are worded in English: '<addr> exited the chat' (p2p), '<addr> exited the room' (hub)",
        scores={}, expect_hint=None,
        why="every relay names its sender first, on the same line; the stamp put 13 characters "
            "between the address and the text, where 8 were allowed (-2), and 'exited' was not an "
            "end word (-8: the p2p notice, both hub notices)."),
    Scored(
        slug="ok-address-in-words", file="server", mistake=None,
        bug="the connection announcements (p2p and hub) print the address in words: "
            "'客户端IP: 127.0.0.1 端口: 51140 已成功连接!'; messages, relays and notices keep str(addr)",
        scores={}, expect_hint=None,
        why="p2p and hub print '客户端IP: 127.0.0.1 端口: <port> 已成功连接!' on a connection; the p2p "
            "message lines, the hub relays '<addr> : <text>' and the notices are the reference's. "
            "p2p_announces_client must find ip and port with words between them (the current "
            "address_pattern, ip\\W{1,4}port, does not)."),
    Scored(
        slug="ok-client-half-close", file="client", mistake=None,
        bug="on q send_msg sends q and calls shutdown(SHUT_WR) only; recv_msg goes on until the "
            "server's FIN (b''), then closes and prints 聊天已结束",
        scores={}, expect_hint=None,
        why="the peer gets 'q' and then EOF at once; the client ends as soon as the server closes: "
            "against the instructor echo (which prints 收到: q first) and hub servers it exits 0 "
            "within 5 ms, against the reference p2p and hub servers too. Against a scripted peer that "
            "never closes after q it waits for good, so the q check's peer must close on q + EOF "
            "as every real server does."),
    Scored(
        slug="ok-hub-startup-reset", file="server", mistake=None,
        bug="after the last prompt, a throwaway socket on the same port (SO_REUSEADDR) does bind, "
            "listen(1), close 'to check the port can listen', then the real socket listens",
        scores={}, expect_hint=None,
        why="for a few microseconds before the real listen, a connection is accepted by the "
            "throwaway listener and reset when it closes: a client polling connect() from the "
            "moment the last prompt is answered got ECONNRESET in 5 of 40 runs (the reference: 0 "
            "of 25), its next attempt reaching the real listener. Placed in the listen step, so p2p "
            "start-up has the same window. Everything passes if the grader connects only after "
            "等待客户端的连接... (or retries a reset connect)."),
    Scored(
        slug="ok-fullwidth-colon", file="server", mistake=None,
        bug="hub relays as <addr>：<text> (full-width colon, no spaces)",
        scores={}, expect_hint=None,
        why="B and C receive \"('127.0.0.1', port)：大家好, hub\"; notices, p2p and everything else are "
            "the reference's. The sender's address is there, so sender_prefix passes: the relay "
            "format must allow the full-width colon."),
    # ================================================================ bug-: hub
    Scored(
        slug="bug-relay-no-prefix", file="server", mistake=None,
        bug="hub_msg_process relays the bare text: self.hub_broadcast(text, sender=addr)",
        scores={"hub_relays_to_others": 5}, expect_hint="relay-prefix",
        why="B and C receive exactly '大家好, hub', with no address; nothing goes back to A, the "
            "4-talker tags all arrive once and in order, departure notices (\"<addr>已经离开了\") and "
            "the full room work. Only sender_prefix is lost."),
    Scored(
        slug="bug-relay-recipient-addr", file="server", mistake=None,
        bug="the relay loop in hub_msg_process formats each copy with its loop variable "
            "client_addr (the recipient) instead of addr (the sender)",
        scores={"hub_relays_to_others": 5}, expect_hint="relay-prefix",
        why="when A (port a) speaks, B receives \"('127.0.0.1', b) : 大家好, hub\" and C \"('127.0.0.1', "
            "c) : 大家好, hub\": everyone sees their own address on everybody's messages. Delivery, "
            "no echo, many talkers, notices (sent by hub_close_client through the reference "
            "hub_broadcast) and the full room are right; sender_prefix is lost."),
    Scored(
        slug="bug-echo-when-two", file="server", mistake=9,
        bug="hub_broadcast skips the sender only when more than two are online: "
            "`if len(self.ip_client) > 2 and addr == sender: continue`",
        scores={"hub_not_back_to_sender": 0}, expect_hint="echo-to-sender",
        why="with three (or four) in the room nothing comes back to its sender and relays, many "
            "talkers (4 clients) and notices pass; with two, A gets \"<A addr> : not for A itself\" "
            "back, so the two-client half of not-back-to-sender fails. The echo also shows in the "
            "two-person rooms of the departure and room-full checks, which only ask that the "
            "other one gets it: no second deduction."),
    Scored(
        slug="bug-room-count-never-freed", file="server", mistake=7,
        bug="start_hub_listen counts joins in self.count and turns newcomers away at "
            "self.count >= self.max_clients, but nothing ever decrements it",
        scores={"hub_room_full": 1}, expect_hint="room-count",
        why="max 2: A and B in, C gets '聊天室已满(最多2人), 请稍后再试' and EOF (turned_away passes); after "
            "A's q the room has one client, yet D gets the same notice and EOF, so place_reused "
            "fails. Join-while-talking passes only because its joins (26) stay under its "
            "max_clients (28)."),
    # ================================================================ bug-: client
    Scored(
        slug="bug-client-recv-first-only", file="client", mistake=None,
        bug="recv_msg receives and prints one chunk before its loop; the loop then only recv()s "
            "to notice the end (no print)",
        scores={"client_prints_received": 4, "client_split_character": 0},
        expect_hint="only-first",
        why="the first chunk is printed ('[127.0.0.1:port] 来自服务器的消息 #1'), later ones never are; "
            "q and the server's close still end it with 聊天已结束 (the loop ends on b''/OSError). "
            "The echo reply is the first chunk, so client_chinese passes; in the hub the other "
            "client is there first, so its message is the first chunk and is printed; the split "
            "character's second segment is never printed (hint: only-first)."),
    Scored(
        slug="bug-client-recv-every-other", file="client", mistake=None,
        bug="recv_msg tests `if not self.client.recv(BUFFER_SIZE): break` and then calls recv "
            "again for the data it prints",
        scores={"client_prints_received": 0, "client_in_hub": 3, "client_chinese": 0,
                "client_split_character": 0},
        expect_hint="only-first",
        why="messages sent one at a time: #1 and #3 vanish, #2 and #4 are printed. Every warm-up "
            "message and the echo server's 收到: reply (the first chunk) are swallowed; the split "
            "character is cut so that one half is swallowed. q (the peer gets q and EOF) and the "
            "server's close (聊天已结束, exit 0) still work, so a q or close check must not depend on "
            "its warm-up being printed. In the hub check the swallowed chunk is the join notice, "
            "so the other's message is printed: client_in_hub passes (it would not if the other "
            "client joined first)."),
    Scored(
        slug="bug-client-send-first-only", file="client", mistake=None,
        bug="the `break` that ends send_msg's loop after q sits one level too far out, so the "
            "loop ends after the first line whatever it was",
        scores={"client_sends_typed_line": 4}, expect_hint="only-first",
        why="the first typed line reaches the peer, nothing after it (stdin is no longer read). q "
            "works only as the first line, as in the q check (the warm-up goes server->client): q "
            "sent, shutdown+close, exit 0; typed after another line, q is never read and the "
            "client stays connected. One typed line suffices for the hub and Chinese checks."),
    Scored(
        slug="bug-client-q-in-text", file="client", mistake=None,
        bug="send_msg leaves when `'q' in msg` instead of msg.strip() == 'q'",
        scores={"client_sends_typed_line": 4}, expect_hint="q-inside-text",
        why="'hello socket-lab' arrives; 'a quick question' is sent, then the client shuts down and "
            "closes (the peer sees EOF), prints 聊天已结束 and exits 0, so no later line is read. q "
            "itself, printing, the hub (its line has no q), Chinese and split all pass."),
    Scored(
        slug="bug-client-split-big-buffer", file="client", mistake=None,
        bug="recv_msg reads recv(4096) and decodes each chunk alone with data.decode('utf-8') "
            "(BUFFER_SIZE left unused)",
        scores={"client_split_character": 0}, expect_hint="split-character",
        why="the old test (1023 ASCII + 你好 in one send) fits one recv(4096) and passes; with 你 "
            "split over two segments 0.3 s apart, the first chunk ends in 0xe4: UnicodeDecodeError "
            "('unexpected end of data') kills the receive thread (traceback), nothing more is "
            "printed and the process exits 0. Everything else passes."),
    # ================================================================ bug-: p2p
    Scored(
        slug="bug-p2p-recv-every-other", file="server", mistake=None,
        bug="p2p_recv_msg tests `if not conn.recv(BUFFER_SIZE): break`, then recv()s again for "
            "the data it prints",
        scores={"p2p_prints_messages": 0}, expect_hint="only-first",
        why="of four messages sent one at a time only the 2nd and 4th are printed (so the first "
            "is lost, and 'a quick question' as the 2nd would be printed). The warm-ups are "
            "swallowed; a q after one warm-up is read by the printing recv: notice, EOF, exit 0. "
            "After two messages the q is swallowed and the server hangs (verified), so q and "
            "abrupt checks must not depend on their warm-up being printed, and the q's parity "
            "decides them; an abrupt close ends it cleanly. Hub is the reference's."),
    Scored(
        slug="bug-p2p-q-in-text", file="server", mistake=None,
        bug="p2p_recv_msg leaves when `'q' in text`",
        scores={"p2p_prints_messages": 3}, expect_hint="q-inside-text",
        why="'你好, p2p 服务器' is printed; 'a quick question' is taken as the leaving: "
            "\"<addr>已退出聊天\", the client sees EOF, the server exits 0, later messages are never "
            "read. q itself works, but the current q check's warm-up 'hello before q' already "
            "contains q, so the server leaves at the warm-up. Abrupt close and hub pass."),
    Scored(
        slug="bug-p2p-notice-is-q", file="server", mistake=None,
        bug="p2p_recv_msg prints every chunk, the q too, and leaves the loop after printing a q; "
            "no leave notice is printed",
        scores={"p2p_q_ends_chat": 4}, expect_hint="p2p-leave-notice",
        why="on q the server prints \"('127.0.0.1', port) : q\" and nothing else, shuts the "
            "connection down (the client sees EOF) and exits 0: closes and ends pass, announces "
            "fails (the current check accepts the address alone and would pass it). An abrupt "
            "close ends it silently and cleanly. New hint p2p-leave-notice: zh "
            "'客户端发来 q 时, 服务器要打印它离开了 (例如 str(addr) + '已退出聊天'), 不要把 q 当成普通消息打印。' / "
            "en 'When the client sends q, the server must say that it left, not print the q as "
            "an ordinary message.'"),
    Scored(
        slug="bug-p2p-send-first-only", file="server", mistake=None,
        bug="p2p_send_msg has no loop: one input(), one sendall, and the thread ends",
        scores={"p2p_sends_typed_lines": 3}, expect_hint="only-first",
        why="the client receives '来自服务器的问候' and nothing typed after it; printing, q (notice, "
            "EOF, exit 0) and the abrupt close are the reference's. Hub does not use it."),
    # ================================================================ fw-: the course framework
    Scored(
        slug="fw-non-daemon-input", file="client", mistake=10,  # ends: 1 of 6 points
        bug="the framework's plain start: threading.Thread(target=self.send_msg).start() (not "
            "daemon) and `Client().start_connection()` instead of run_until_chat_ends (no "
            "os._exit)",
        scores={"client_server_closes_first": 5}, expect_hint="plain-send-thread",
        why="on q: q sent, shutdown+close, 聊天已结束, exit 0 at once (both threads end). When the "
            "server closes: 聊天已结束 at once, no flood, but the process waits in input() until "
            "its stdin is closed, then exits 0. A framework fact the student cannot change, and a "
            "TA takes little for it: the 'ends' part, 1 of 6 points, with a hint that says so "
            "(plain-send-thread: every thread blocked, a plain send thread in the source)."),
    Scored(
        slug="fw-p2p-non-daemon-input", file="server", mistake=10,
        bug="the framework's plain start for p2p: p2p_send_msg thread not daemon, and `Server()` "
            "instead of run_until_chat_ends",
        scores={"p2p_q_ends_chat": 6, "p2p_abrupt_disconnect": 4},
        expect_hint="plain-send-thread",
        why="on q (or an abrupt close) the server prints \"<addr>已退出聊天\" and shuts down and "
            "closes the connection (the client sees EOF), then waits in input() until stdin is "
            "closed, and exits 0. Hub is unchanged (its accept loop runs in the main thread). "
            "Framework fact: the 'ends' part only (1 point) of each of the two checks is lost."),
    Scored(
        slug="fw-ip-prompt-not-read", file="client", mistake=None,
        bug="the framework's set_ip_port: prints 请输入聊天服务器IP, but `#ip = input()` is "
            "commented out and the IP hard-coded; only the port is read",
        scores={}, expect_hint=None,
        why="the grader answers a prompt only when the program reads stdin, so the one read "
            "after the two prompts gets the port: the client connects and every check passes, "
            "with no note (the prompts were printed in the framework's order)."),
    Scored(
        slug="fw-dict-print-at-start", file="server", mistake=12,
        bug="the framework's debug prints at the start of hub_msg_process, "
            "`for key in self.ip_client: print(key)`, without the lock (the rest: the reference)",
        scores={"hub_join_while_talking": 0}, expect_hint="dict-changed",
        why="when a client joins while a newcomer's thread is still printing the dict, that "
            "thread dies of RuntimeError: dictionary changed size during iteration before its "
            "receive loop: its client stays in the room (it still gets relays) but is never "
            "relayed. 6 clients connecting at once broke 17 of 20 runs; joining the next client "
            "as soon as the previous one's 已成功连接! line shows broke 5 of 20; 20 ms or more "
            "between joins, 0 of 20. So the concurrency check (clients joining at the same "
            "moment) fails it every time, and the others, which join at classroom pace, never. "
            "p2p is unaffected."),
]

#: Checks that may fail on some runs although a careful TA gives them full marks.
MAY_FAIL = {
    # None: the checks join at classroom pace and send a fixed sequence, so every verdict
    # here is the same on every run (benchmarks/determinism.py measures it).
}


def checks_of(file):
    return CLIENT_CHECKS if file == "client" else SERVER_CHECKS


def as_variant(scored):
    """The entry as a catalog.Variant: every check below full marks is expected to fail."""
    return Variant(slug=scored.slug, file=scored.file, mistake=scored.mistake, bug=scored.bug,
                   expect_fail=[check for check in checks_of(scored.file) if check in scored.scores],
                   expect_hint=scored.expect_hint, why=scored.why,
                   may_fail=MAY_FAIL.get(scored.slug, ()))


VARIANTS = [as_variant(scored) for scored in SCORED]


def _check_catalog():
    slugs = [scored.slug for scored in SCORED]
    assert len(set(slugs)) == len(slugs), "two entries share a slug"
    for scored in SCORED:
        assert scored.file in ("client", "server"), scored.slug
        for check, score in scored.scores.items():
            assert check in checks_of(scored.file), (scored.slug, check)
            assert 0 <= score < CHECK_POINTS[check], (scored.slug, check, score)
            sums = {0}
            for _, points in CHECK_PARTS[check]:
                sums |= {total + points for total in sums}
            assert score in sums, (scored.slug, check, score, "not a sum of parts")
        if scored.slug.startswith("ok-"):
            assert not scored.scores, scored.slug
        if scored.slug.startswith("bug-"):
            assert scored.scores, scored.slug


_check_catalog()
assert set(P2P_CHECKS) | set(HUB_CHECKS) | set(CLIENT_CHECKS) == set(CHECK_PARTS)
