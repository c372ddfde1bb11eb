"""Broken student submissions: one folder per variant, each with the one file that is broken.

Every ``<slug>/chat_client.py`` or ``<slug>/chat_server.py`` here started as the reference
solution with the instructor's ``###`` lines removed (``sed '/^[[:space:]]*###/d'``, which is
what a fully solved student file looks like), then got ONE bug, written the way students in
this lab really write it. The files carry no comment naming their bug: the grader has to find
it from behaviour. The other file of a submission is the (stripped) reference.

Most variants stand for one entry of the lab's list of "Mistakes seen in real submissions"
(``mistake``, 1-11, see shared/lab-spec.md); the rest (``mistake=None``) test the grader
itself: a file that does not compile or import, a program that never reads stdin, prints
100 MiB, spins before its second prompt, or binds an address that is not this machine's.

``expect_fail`` and ``expect_hint`` are predictions, made by running each variant by hand
against loopback peers (with Windows ``close()`` semantics and a loopback-only network
emulated where the launcher would provide them); they are to be calibrated against the real
grader. ``expect_hint`` is the hint id (grader.hints.HINTS) the grader should put first, or
None where no hint is expected. ``why`` says what the grader will observe.

Variants whose checks all pass (``expect_fail=[]``) expect a note or a hint that costs
nothing: the grader must not take points for them.
"""

from collections import namedtuple

Variant = namedtuple("Variant", "slug file mistake bug expect_fail expect_hint why may_fail")
#: ``may_fail``: checks that a racy bug (threads without a lock) fails on some runs only.
Variant.__new__.__defaults__ = ((),)

CLIENT_CHECKS = [
    "client_sends_typed_line", "client_prints_received", "client_in_hub", "client_q_ends_chat",
    "client_server_closes_first", "client_chinese", "client_split_character",
]
P2P_CHECKS = [
    "p2p_announces_client", "p2p_prints_messages", "p2p_sends_typed_lines", "p2p_q_ends_chat",
    "p2p_abrupt_disconnect",
]
HUB_CHECKS = [
    "hub_relays_to_others", "hub_not_back_to_sender", "hub_many_talking", "hub_q_departure",
    "hub_abrupt_departure", "hub_join_while_talking", "hub_room_full",
]
SERVER_CHECKS = P2P_CHECKS + HUB_CHECKS

VARIANTS = [
    # ------------------------------------------------------------ 1: no b'' test
    Variant(
        slug="client-empty-recv", file="client", mistake=1,
        bug="recv_msg never tests for b'' and prints every chunk, empty ones too",
        expect_fail=["client_server_closes_first"], expect_hint="empty-recv",
        why="once the server closes, recv returns b'' at once forever: '[127.0.0.1:port] ' lines "
            "flood stdout (megabytes a second), 聊天已结束 never comes, the process never ends. After "
            "q the send thread's shutdown+close ends the loop (a few empty lines, then OSError), so "
            "q passes. A RST instead of a FIN from the server would raise and end the loop."),
    Variant(
        slug="p2p-empty-recv", file="server", mistake=1,
        bug="p2p_recv_msg tests only for q, never for b'' (and has no try/except)",
        expect_fail=["p2p_abrupt_disconnect"], expect_hint="empty-recv",
        why="a client that closes without q leaves recv returning b'' forever: \"('127.0.0.1', "
            "port) : \" lines flood stdout and the process never ends (with a RST instead: a "
            "ConnectionResetError traceback). q, announce, print and send all work."),
    Variant(
        slug="hub-empty-recv", file="server", mistake=1,
        bug="hub_msg_process tests only for q, never for b'', and relays every chunk",
        expect_fail=["hub_abrupt_departure"], expect_hint="empty-recv",
        why="after A closes without q, B and C receive \"<A addr> : \" in a tight loop (MBs a "
            "second), A is never removed and no 已经离开了 is sent; B->C still gets through. q works, "
            "and the visitors of join-while-talking leave with q, so that check passes."),
    # ------------------------------------------------------------ 2: leftover loop variable
    Variant(
        slug="hub-wrong-client", file="server", mistake=2,
        bug="hub_close_client finds the socket with a search loop, then announces and deletes the "
            "loop variable (the last key) instead of addr",
        expect_fail=["hub_q_departure", "hub_abrupt_departure", "hub_join_while_talking"],
        expect_hint="wrong-client",
        why=("with A, B, C joined in that order, A leaving makes B and C get a notice naming C, "
             "not A, so both departure checks fail on the notice. In the churn of "
             "join-while-talking every leave deletes the newest client from ip_client instead "
             "of the leaver, and that client, still connected, never gets a relay again.")),
    # ------------------------------------------------------------ 3: dict changed during iteration
    Variant(
        slug="hub-dict-changed", file="server", mistake=3,
        bug="no lock at all: hub_broadcast iterates self.ip_client directly (sendall inside the "
            "loop) while the accept thread adds and hub_close_client pops entries",
        expect_fail=["hub_join_while_talking"], expect_hint="dict-changed",
        why="when a client joins or leaves during a broadcast, the broadcasting thread dies of "
            "RuntimeError: dictionary changed size during iteration (traceback on stderr); every "
            "talker's thread dies within a few joins, so later messages are lost. Reproduced every "
            "run with 3 talkers and one visitor joining/leaving every 20 ms; with a fixed set of "
            "clients (relay, many_talking, q/abrupt departure) everything passes."),
    Variant(
        slug="hub-dict-del-in-loop", file="server", mistake=3,
        bug="hub_close_client deletes the leaver from self.ip_client inside a for loop over "
            "self.ip_client.items() that also sends the departure notice",
        expect_fail=["hub_q_departure", "hub_abrupt_departure"],
        expect_hint="dict-changed",
        why=("deleting inside the loop over ip_client kills the leaver's thread before the "
             "clients after it in the dict are told, so both departure checks fail, with "
             "RuntimeError in stderr. The leaver is closed and deleted before the crash, so "
             "the room itself goes on: join-while-talking, which waits until each leave has "
             "been dealt with, passes (the bug is the departure's, and costs those checks).")),
    # ------------------------------------------------------------ 4: thread never started
    Variant(
        slug="hub-thread-not-started", file="server", mistake=4,
        bug="start_hub_listen creates the hub_msg_process thread but never calls .start()",
        expect_fail=["hub_relays_to_others", "hub_not_back_to_sender", "hub_many_talking",
                     "hub_q_departure", "hub_abrupt_departure", "hub_join_while_talking",
                     "hub_room_full"],
        expect_hint="thread-not-started",
        why="clients are accepted and announced but nobody ever reads their sockets: nothing is "
            "relayed, q gets no EOF and no notice. hub_room_full: the third client is turned away "
            "correctly but the two inside cannot chat. hub_not_back_to_sender fails only if the "
            "check first waits for B to get the message (as its absence wait should)."),
    Variant(
        slug="p2p-thread-run-not-start", file="server", mistake=4,
        bug="start_p2p_listen calls .run() instead of .start(): p2p_send_msg runs in the main "
            "thread and the receive thread is never reached",
        expect_fail=["p2p_prints_messages", "p2p_q_ends_chat", "p2p_abrupt_disconnect"],
        expect_hint="thread-not-started",
        why="the client is announced and typed lines reach it, but nothing the client sends is "
            "ever printed; after q or a close the process stays in input() for good (no notice, "
            "no EOF for the client). If the grader closes the server's stdin, the recv loop then "
            "runs in the main thread and the later checks may pass."),
    # ------------------------------------------------------------ 5: bare except
    Variant(
        slug="client-bare-except", file="client", mistake=5,
        bug="recv wrapped in try/except: pass, so a failed recv goes on with the previous data; "
            "q close()s without shutdown (the lab's Windows-era advice)",
        expect_fail=["client_q_ends_chat"], expect_hint="bare-except",
        why="after q the server gets q and EOF, but with the grader's Windows close() semantics "
            "the blocked recv raises, the bare except swallows it and the last message (e.g. "
            "'[127.0.0.1:port] 你好') is printed again and again (every later recv on the closed "
            "socket raises too): flood, never exits. If q comes before any message, data is "
            "unbound: UnboundLocalError traceback. Server-closes-first gives b'' and passes. Also "
            "earns the close-wakes-recv note. If the launcher made recv return b'' instead of "
            "raising, this variant would pass."),
    Variant(
        slug="p2p-bare-except", file="server", mistake=5,
        bug="p2p_recv_msg wraps recv in try/except: pass and on q closes the connection without "
            "leaving the loop, so the stale b'q' is handled again and again",
        expect_fail=["p2p_q_ends_chat"], expect_hint="bare-except",
        why="on q the notice is printed and the client sees EOF, then every recv on the closed "
            "socket raises, is swallowed, and the stale 'q' prints \"('127.0.0.1', port)已退出聊天\" "
            "forever: flood, the process never ends. An abrupt close (FIN) gives b'' and passes; "
            "a RST reprints the last message once, or dies of UnboundLocalError if none came."),
    # ------------------------------------------------------------ 6: prompts changed
    Variant(
        slug="client-ip-hardcoded", file="client", mistake=6,
        bug="the IP prompt removed and the student's own LAN address '192.168.1.10' hard-coded",
        expect_fail=list(CLIENT_CHECKS), expect_hint="network-refused",
        why="only 请输入聊天服务器端口 is asked; connect((192.168.1.10, port)) is refused by the "
            "launcher with PermissionError, which the student's except OSError turns into "
            "'无法连接到 192.168.1.10:port (cannot connect): ...' on stderr and exit 1. prompts-changed "
            "(IP prompt not seen) should come with it."),
    Variant(
        slug="client-prompts-reordered", file="client", mistake=6,
        bug="set_ip_port asks for the port before the IP",
        expect_fail=[], expect_hint="prompts-changed",
        why="the grader answers prompts by recognising them, so everything passes; the order "
            "differs from the framework's, which deserves the prompts-changed hint at no cost."),
    # ------------------------------------------------------------ 7: listen backlog as the cap
    Variant(
        slug="hub-listen-backlog", file="server", mistake=7,
        bug="start_hub_listen never counts clients, relying on listen(self.max_clients) as the cap",
        expect_fail=["hub_room_full"], expect_hint="listen-backlog",
        why="with max clients 2 the third client is accepted, announced and stays connected (no "
            "notice, no EOF); the two inside still chat. Everything else passes."),
    # ------------------------------------------------------------ 8: hostname bind
    Variant(
        slug="server-hostname-bind", file="server", mistake=8,
        bug="self.ip = socket.gethostbyname(socket.gethostname()) replaces the given 127.0.0.1",
        expect_fail=[], expect_hint="hostname-bind",
        why="the launcher maps the hostname's address to 127.0.0.1, so every check passes; the "
            "grader should add the hostname-bind note (on a machine where the hostname resolves "
            "to a LAN address or 127.0.1.1, the loopback clients could not connect without it)."),
    # ------------------------------------------------------------ 9: no relay
    Variant(
        slug="hub-no-relay", file="server", mistake=9,
        bug="hub_msg_process sends '<addr> : text' back on the sender's own socket instead of "
            "broadcasting",
        expect_fail=["hub_relays_to_others", "hub_not_back_to_sender", "hub_many_talking",
                     "hub_q_departure", "hub_abrupt_departure", "hub_join_while_talking",
                     "hub_room_full"],
        expect_hint="no-relay",
        why="B and C never see A's message, and A gets its own message back. Departures are "
            "announced correctly (hub_close_client still broadcasts), but the 'B->C still works' "
            "part of both departure checks and the chat inside a full room fail."),
    Variant(
        slug="hub-echo-to-sender", file="server", mistake=9,
        bug="hub_broadcast sends to every client, the sender included",
        expect_fail=["hub_not_back_to_sender", "hub_many_talking"], expect_hint="echo-to-sender",
        why=("every relay also comes back to its sender: not-back-to-sender fails, and so does "
             "many-talking, which counts each message at every client including its sender.")),
    # ------------------------------------------------------------ 10: never exits
    Variant(
        slug="client-no-exit", file="client", mistake=10,
        bug="the send thread is started without daemon=True, so it keeps the process alive in "
            "input() after the server has closed",
        expect_fail=["client_server_closes_first"], expect_hint="plain-send-thread",
        why="when the server closes first the recv thread prints 聊天已结束 and ends, but the "
            "non-daemon send thread waits in input() for good: the process does not end within "
            "2 s (no flood). q passes, since the send loop itself breaks on q."),
    Variant(
        slug="p2p-no-exit", file="server", mistake=10,
        bug="start_p2p_listen starts p2p_send_msg without daemon=True",
        expect_fail=["p2p_q_ends_chat", "p2p_abrupt_disconnect"], expect_hint="plain-send-thread",
        why="on q (or an abrupt close) the notice is printed and the client sees EOF, but the "
            "non-daemon send thread stays in input(), so the process never ends. If the grader "
            "closed the server's stdin, input() would hit EOF and this would pass."),
    Variant(
        slug="client-close-no-shutdown", file="client", mistake=10,
        bug="on q send_msg close()s the socket without shutdown(SHUT_RDWR) first",
        expect_fail=[], expect_hint="close-wakes-recv",
        why="with the grader's Windows close() semantics the blocked recv is woken, raises "
            "OSError, the loop ends and the process exits: everything passes, with the "
            "close-wakes-recv note. On plain Linux the recv would stay blocked and no FIN would "
            "be sent (unless the echo server's answer to q happens to wake it)."),
    # ------------------------------------------------------------ 11: send to departed
    Variant(
        slug="hub-send-to-departed", file="server", mistake=11,
        bug="hub_close_client closes the socket but leaves it in self.ip_client, and "
            "hub_broadcast's sendall has no try/except",
        expect_fail=["hub_q_departure", "hub_abrupt_departure", "hub_join_while_talking",
                     "hub_room_full"],
        expect_hint="send-to-departed",
        why="departures are announced correctly and A sees EOF, but B's next message hits A's "
            "closed socket first: OSError: [Errno 9] Bad file descriptor kills B's thread "
            "(traceback), C never gets it and B is never relayed again. A departed client "
            "keeps its place, so a full room stays full: the freed place is never reused."),
    # ------------------------------------------------------------ the grader's own robustness
    Variant(
        slug="client-syntax-error", file="client", mistake=None,
        bug="a missing colon after `if not data` in recv_msg",
        expect_fail=list(CLIENT_CHECKS), expect_hint="syntax-error",
        why="python stops before running anything: SyntaxError at line 75 ('invalid syntax' on "
            "3.9, \"expected ':'\" on 3.10+), no prompt, exit 1."),
    Variant(
        slug="server-import-error", file="server", mistake=None,
        bug="`from chat_utils import format_msg`: a helper module that was never handed in",
        expect_fail=list(SERVER_CHECKS), expect_hint="crash",
        why="ModuleNotFoundError: No module named 'chat_utils' at import, before any prompt; "
            "exit 1 with a traceback."),
    Variant(
        slug="client-stdout-gbk", file="client", mistake=None,
        bug="sys.stdout re-wrapped as GBK at the top (io.TextIOWrapper(sys.stdout.buffer, "
            "encoding='gbk', errors='replace', line_buffering=True)), for a Chinese Windows console",
        expect_fail=list(CLIENT_CHECKS), expect_hint="stdout-not-utf8",
        why="every prompt comes out as GBK bytes, which are not UTF-8: the grader sees no "
            "prompt it knows and cannot answer any, so nothing connects. The hint names the "
            "encoding set in the source, instead of 'keep the prompts', which were kept."),
    Variant(
        slug="client-stdin-gbk", file="client", mistake=None,
        bug="sys.stdin re-wrapped as GBK at the top (io.TextIOWrapper(sys.stdin.buffer, "
            "encoding='gbk', errors='replace'))",
        expect_fail=["client_sends_typed_line", "client_in_hub", "client_chinese"],
        expect_hint="stdin-not-utf8",
        why="ASCII lines go out intact, but typed Chinese, UTF-8 from the grader as from any "
            "macOS or Linux terminal, is decoded as GBK: 你在吗 arrives as 浣犲湪鍚�. The hint says "
            "so from the garbled bytes, instead of 'nothing was sent'."),
    Variant(
        slug="client-never-reads-stdin", file="client", mistake=None,
        bug="set_ip_port returns a hard-coded ('127.0.0.1', 1) and send_msg sends a fixed test "
            "line every second instead of reading the keyboard",
        expect_fail=list(CLIENT_CHECKS), expect_hint="prompts-changed",
        why="no prompt is ever printed; connect to 127.0.0.1:1 is refused at once and the client "
            "exits 1 with '无法连接到 127.0.0.1:1 (cannot connect): [Errno 111] Connection refused'. "
            "The grader must not wait for prompts that never come; not-connected is the other "
            "fitting hint."),
    Variant(
        slug="client-prints-100mb", file="client", mistake=None,
        bug="a leftover debug loop in recv_msg prints exactly 100 MiB (102400 lines of 1023 '=' "
            "+ newline) once connected, then works normally",
        expect_fail=[check for check in CLIENT_CHECKS if check != "client_sends_typed_line"],
        expect_hint="flood", may_fail=["client_sends_typed_line"],
        why=("the first megabytes of output cross the grader's flood limit, so the grader stops the "
             "program at once (bounded time and memory) and every check still waiting on it fails "
             "with the flood hint; the typed line may or may not have gone out before the stop.")),
    Variant(
        slug="server-spins-forever", file="server", mistake=None,
        bug="a retry loop around bind whose `bound == True` never sets the flag: after the port "
            "prompt it spins forever (the second bind fails with EINVAL, caught, retried)",
        expect_fail=list(SERVER_CHECKS), expect_hint="stuck-at-start",
        why="prints 服务器IP and 请输入聊天服务器端口, takes the port, then burns a CPU without "
            "printing the mode prompt or exiting; the grader must give up on a deadline and kill "
            "it."),
    Variant(
        slug="server-binds-non-loopback", file="server", mistake=None,
        bug="self.ip = '192.0.2.10' (the student's own address, here TEST-NET-1) replaces the "
            "given 127.0.0.1",
        expect_fail=list(SERVER_CHECKS), expect_hint="network-refused",
        why="bind((192.0.2.10, port)) is refused by the launcher with PermissionError before any "
            "packet; the student's except OSError prints '无法使用端口 N (cannot use port N): ...' "
            "and exits 1 right after the port prompt."),
]
