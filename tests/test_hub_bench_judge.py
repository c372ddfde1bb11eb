"""benchmarks/hub_bench/judge.py in memory: one receiver's stream, as its reads returned it,
split at the relay prefixes, credited to the senders and judged complete or not.

No sockets: each stream is built here the way each server writes it.
"""

from benchmarks.hub_bench import judge
from benchmarks.hub_bench.judge import HubWire, NcatWire

SIZE = 16
MESSAGES = 3
#: Our hub names a sender by its port, ncat by its user number.
HUB_KEYS = {5001: 0, 5002: 1}
NCAT_KEYS = {5: 0, 6: 1}
STREAMS = judge.sender_streams(2, MESSAGES, SIZE)


def message(sender, number):
    return judge.message_bytes(sender, number, SIZE)


def relays(wire, keys, parts):
    """The bytes a receiver reads: one relay per ``(sender, text)`` part, as ``wire`` writes it."""
    key_of = {sender: key for key, sender in keys.items()}
    return b"".join(wire.relay_of(key_of[sender], text) for sender, text in parts)


def cut(data, *at):
    """``data`` as reads would return it, cut at the offsets ``at``."""
    bounds = (0,) + at + (len(data),)
    return [data[a:b] for a, b in zip(bounds, bounds[1:])]


def every_message_interleaved():
    """Both senders' messages, turn about, one relay each."""
    return [(s, message(s, n)) for n in range(MESSAGES) for s in (0, 1)]


def judged(wire, keys, chunks):
    return judge.judge_stream(wire, STREAMS, keys, chunks, SIZE)


def test_the_messages_are_what_the_senders_send():
    assert message(1, 2) == b"[1.2]-----------" and len(message(0, 0)) == SIZE
    assert STREAMS[0] == message(0, 0) + message(0, 1) + message(0, 2)


def test_an_interleaved_stream_is_complete_however_the_reads_cut_it():
    data = relays(HubWire, HUB_KEYS, every_message_interleaved())
    sevens = [data[at:at + 7] for at in range(0, len(data), 7)]
    for chunks in ([data], cut(data, 5), cut(data, 30, 31, 70), sevens):
        verdict = judged(HubWire, HUB_KEYS, chunks)
        assert verdict.errors == [] and verdict.delivered == [MESSAGES, MESSAGES]
        assert judge.is_complete(verdict, STREAMS)


def test_a_relay_that_joins_or_splits_messages_is_credited_by_bytes():
    # The server read sender 0's stream in pieces that ignore the message boundaries.
    stream = STREAMS[0]
    parts = [(0, stream[:5]), (1, message(1, 0)), (0, stream[5:40]), (1, STREAMS[1][SIZE:]),
             (0, stream[40:])]
    verdict = judged(HubWire, HUB_KEYS, [relays(HubWire, HUB_KEYS, parts)])
    assert verdict.errors == [] and judge.is_complete(verdict, STREAMS)


def test_a_prefix_split_across_reads_is_held_until_it_is_whole():
    data = relays(HubWire, HUB_KEYS, every_message_interleaved())
    second = data.index(b"(", 1)                     # the second relay's prefix
    chunks = cut(data, second + 3, second + 19)      # "('1" | "27.0.0.1', 5002)" | " : ..."
    pieces, held = judge.split_stream(HubWire, chunks[0])
    assert pieces == [(judge.RELAY, 5001), message(0, 0)] and held == b"('1"
    pieces, held = judge.split_stream(HubWire, chunks[1], held)
    assert pieces == [] and held == b"('127.0.0.1', 5002)"
    pieces, held = judge.split_stream(HubWire, chunks[2][:3 + SIZE], held)
    assert pieces == [(judge.RELAY, 5002), message(1, 0)] and held == b""
    assert judge.is_complete(judged(HubWire, HUB_KEYS, chunks), STREAMS)


def test_a_missing_message_leaves_the_stream_incomplete():
    parts = [part for part in every_message_interleaved() if part != (1, message(1, 1))]
    verdict = judged(HubWire, HUB_KEYS, [relays(HubWire, HUB_KEYS, parts)])
    # The message after the gap is not what sender 1 sent there.
    assert len(verdict.errors) == 1 and "from sender 1 at byte 16" in verdict.errors[0]
    assert verdict.delivered == [MESSAGES, 1] and verdict.offsets[1] == -1
    assert not judge.is_complete(verdict, STREAMS)


def test_a_missing_last_message_leaves_the_stream_short():
    parts = every_message_interleaved()[:-1]
    verdict = judged(HubWire, HUB_KEYS, [relays(HubWire, HUB_KEYS, parts)])
    assert verdict.errors == [] and verdict.delivered == [MESSAGES, MESSAGES - 1]
    assert verdict.offsets == [MESSAGES * SIZE, (MESSAGES - 1) * SIZE]
    assert not judge.is_complete(verdict, STREAMS)


def test_a_duplicated_message_is_caught():
    parts = every_message_interleaved()
    parts.insert(1, parts[0])                        # sender 0's first message, twice
    verdict = judged(HubWire, HUB_KEYS, [relays(HubWire, HUB_KEYS, parts)])
    assert len(verdict.errors) == 1 and "from sender 0 at byte 16" in verdict.errors[0]
    assert verdict.delivered == [1, MESSAGES] and not judge.is_complete(verdict, STREAMS)


def test_a_reordered_message_is_caught():
    parts = [(0, message(0, 1)), (0, message(0, 0)), (0, message(0, 2))] + [
        (1, message(1, n)) for n in range(MESSAGES)]
    verdict = judged(HubWire, HUB_KEYS, [relays(HubWire, HUB_KEYS, parts)])
    assert len(verdict.errors) == 1 and "from sender 0 at byte 0" in verdict.errors[0]
    assert verdict.delivered == [0, MESSAGES] and not judge.is_complete(verdict, STREAMS)


def test_a_corrupted_byte_is_caught_and_nothing_after_it_is_credited():
    bad = message(1, 1).replace(b"-", b"?", 1)
    parts = [(1, message(1, 0)), (1, bad), (1, message(1, 2))] + [
        (0, message(0, n)) for n in range(MESSAGES)]
    verdict = judged(HubWire, HUB_KEYS, [relays(HubWire, HUB_KEYS, parts)])
    assert len(verdict.errors) == 1 and "is not what it sent" in verdict.errors[0]
    assert verdict.delivered == [MESSAGES, 1] and verdict.offsets[1] == -1


def test_bytes_outside_any_relay_and_an_unknown_sender_are_caught():
    data = b"hello" + relays(HubWire, HUB_KEYS, every_message_interleaved())
    verdict = judged(HubWire, HUB_KEYS, [data + HubWire.relay_of(5999, b"x")])
    assert verdict.stray == len(b"hello") + 1        # "hello", and the unknown sender's "x"
    assert verdict.errors[0].startswith("bytes outside any relay: b'hello'")
    assert verdict.errors[1] == "a relay from an unknown sender 5999"
    assert not judge.is_complete(verdict, STREAMS)


def test_a_join_or_leave_notice_ends_the_relay_before_it():
    leave = "('127.0.0.1', 5003)已经离开了".encode("utf-8")
    pieces, held = judge.split_stream(HubWire, relays(HubWire, HUB_KEYS, [(0, b"ab")]) + leave)
    assert pieces == [(judge.RELAY, 5001), b"ab", (judge.LEAVE, 5003)] and held == b""


def test_ncat_streams_are_judged_alike_and_its_announcements_are_not_relays():
    gone = b"<announce> <user7> is disconnected.\n"
    data = relays(NcatWire, NCAT_KEYS, every_message_interleaved()[:3]) + gone + relays(
        NcatWire, NCAT_KEYS, every_message_interleaved()[3:])
    pieces, _ = judge.split_stream(NcatWire, data)
    assert (judge.LEAVE, 7) in pieces and (judge.RELAY, 7) not in pieces
    verdict = judged(NcatWire, NCAT_KEYS, cut(data, data.index(b"<user6>") + 4))
    assert verdict.errors == [] and judge.is_complete(verdict, STREAMS)


def test_more_than_max_held_bytes_without_a_prefix_are_garbage():
    data = HubWire.relay_of(5001, b"(" + b"x" * judge.MAX_HELD)
    pieces, held = judge.split_stream(HubWire, data)
    assert pieces[:2] == [(judge.RELAY, 5001), (judge.OVERFLOW, None)] and held == b""
    verdict = judged(HubWire, HUB_KEYS, [data])
    assert verdict.errors[0] == judge.overflow() and verdict.offsets[0] == -1


def test_completeness_counts_every_other_reader():
    # 2 senders of 3 messages among 5 readers: each message reaches the 4 others.
    assert judge.expected_deliveries(3, 2, 5) == 24
    assert judge.completeness_pct(18, 24) == 75.0 and judge.completeness_pct(0, 0) is None
