"""Judging the streams: the two servers' wire formats, and plain functions over bytes that
split a receiver's stream at the relay prefixes, credit what follows each prefix to its
sender, and say whether every sender's messages arrived whole, once, and in order.

A message is ``[s.n]`` padded with ``-`` to its size, and holds neither ``(`` nor ``<``,
which begin every prefix; the bytes credited to a sender must be exactly its messages,
concatenated, in order, however the server cut or joined the chunks.
"""

import collections
import re

JOIN, LEAVE, RELAY, INFO = 'join', 'leave', 'relay', 'info'
#: Not a prefix: the stream ran on for more than ``MAX_HELD`` bytes after a prefix's first
#: byte without completing one, and what was held is passed on as content.
OVERFLOW = 'overflow'

#: Bytes held back as the start of a prefix: more means the stream is garbage.
MAX_HELD = 1024 * 1024


# ------------------------------------------------------------------------- wire formats

class HubWire:
    """Our hub: ``('127.0.0.1', PORT) : text``, ``(...)加入了聊天室``, ``(...)已经离开了``."""

    name = 'hub'
    start = b'('
    token = re.compile(rb"\('127\.0\.0\.1', (\d+)\)( : |%s|%s)" % (
        '加入了聊天室'.encode('utf-8'), '已经离开了'.encode('utf-8')))
    kinds = {b' : ': RELAY, '加入了聊天室'.encode('utf-8'): JOIN,
             '已经离开了'.encode('utf-8'): LEAVE}
    #: A newcomer is not told of its own join; ncat tells everyone, the newcomer included.
    self_announced = False

    @classmethod
    def classify(cls, match):
        return cls.kinds[match.group(2)], int(match.group(1))

    @staticmethod
    def relay_of(key, text):
        return ("('127.0.0.1', %d) : " % key).encode('utf-8') + text


class NcatWire:
    """``ncat --chat``: ``<userK> text`` (K is its fd), and ``<announce> ...\\n`` lines."""

    name = 'ncat'
    start = b'<'
    # "<announce> <user5> is disconnected." holds "<user5> " too: not a relay prefix. (The
    # look-behind sits after the "<" so that the engine can skip ahead to each "<" fast.)
    token = re.compile(rb'<(?:(?<!<announce> <)user(\d+)> |announce> ([^\n]*)\n)')
    _joined = re.compile(rb'\S+ is connected as <user(\d+)>\.$')
    _left = re.compile(rb'<user(\d+)> is disconnected\.$')
    self_announced = True

    @classmethod
    def classify(cls, match):
        if match.group(1) is not None:
            return RELAY, int(match.group(1))
        line = match.group(2)
        found = cls._joined.match(line)
        if found:
            return JOIN, int(found.group(1))
        found = cls._left.match(line)
        if found:
            return LEAVE, int(found.group(1))
        return INFO, None          # "already connected: ..."

    @staticmethod
    def relay_of(key, text):
        return b'<user%d> ' % key + text


# ------------------------------------------------------------------------- the messages

def message_bytes(sender, number, size):
    head = b'[%d.%d]' % (sender, number)
    return head + b'-' * (size - len(head))


def sender_streams(senders, messages, size):
    """What each of ``senders`` sends: its ``messages`` messages of ``size`` bytes, joined."""
    return [b''.join(message_bytes(s, n, size) for n in range(messages))
            for s in range(senders)]


# ------------------------------------------------------------------------- one receiver's stream

def split_stream(wire, data, held=b''):
    """Cut ``held + data`` at ``wire``'s prefixes; returns ``(pieces, held)``.

    ``pieces`` are in stream order, each either ``bytes`` (what came between two prefixes)
    or a ``(kind, key)`` pair for a prefix (``kind`` one of RELAY, JOIN, LEAVE, INFO, and
    ``(OVERFLOW, None)`` just before content that was held too long to be a prefix).
    ``held`` is the tail from the first byte that can begin a prefix after the last one
    found: the read may have cut a prefix short, so it waits for the next read's bytes.
    """
    if held:
        data = held + data
    pieces = []
    pos = 0
    for match in wire.token.finditer(data):
        begin = match.start()
        if begin > pos:
            pieces.append(data[pos:begin])
        pieces.append(wire.classify(match))
        pos = match.end()
    held = b''
    cut = data.find(wire.start, pos)
    if cut < 0:
        cut = len(data)
    elif len(data) - cut > MAX_HELD:
        pieces.append((OVERFLOW, None))
        cut = len(data)
    else:
        held = data[cut:]
    if cut > pos:
        pieces.append(data[pos:cut])
    return pieces, held


def credit(stream, offset, chunk):
    """Where a sender's stream stands at a receiver once ``chunk`` is credited to it, ``offset``
    bytes of ``stream`` (all it sent) having arrived before: ``offset + len(chunk)``, or -1
    when ``chunk`` is not what it sent there (and once -1, nothing more is credited)."""
    if offset < 0 or not stream.startswith(chunk, offset):
        return -1
    return offset + len(chunk)


def mismatch(sender, offset, chunk, stream):
    return 'from sender %d at byte %d: %r is not what it sent (%r)' % (
        sender, offset, chunk[:60], stream[offset:offset + 60])


def unknown_sender(key):
    return 'a relay from an unknown sender %r' % key


def stray(chunk):
    return 'bytes outside any relay: %r' % chunk[:80]


def overflow():
    return 'more than %d bytes without a complete prefix' % MAX_HELD


#: One receiver's stream judged: per sender, its bytes credited (-1: wrong from some point)
#: and its messages delivered; the errors' texts; bytes outside any relay; bytes held back.
Verdict = collections.namedtuple('Verdict', 'offsets delivered errors stray held')


def judge_stream(wire, streams, sender_of, chunks, size):
    """Judge what one receiver read during the chat, ``chunks`` as its reads returned them:
    ``streams`` is what each sender sent (``sender_streams``), ``sender_of`` maps a relay
    prefix's key (our hub: the sender's port; ncat: its user number) to the sender's index.
    The load does the same for each of its readers as their bytes come, in
    ``clients.Load._feed``, with the setup's announcements and each delivery's latency
    beside it."""
    offsets = [0] * len(streams)
    delivered = [0] * len(streams)
    errors = []
    stray_bytes = 0
    held = b''
    cur = None
    for data in chunks:
        pieces, held = split_stream(wire, data, held)
        for piece in pieces:
            if isinstance(piece, bytes):
                if cur is None:
                    stray_bytes += len(piece)
                    errors.append(stray(piece))
                    continue
                offset = offsets[cur]
                if offset < 0:
                    continue
                end = offsets[cur] = credit(streams[cur], offset, piece)
                if end < 0:
                    errors.append(mismatch(cur, offset, piece, streams[cur]))
                    continue
                delivered[cur] += end // size - offset // size
                continue
            kind, key = piece
            if kind == OVERFLOW:
                errors.append(overflow())
                continue
            cur = sender_of.get(key) if kind == RELAY else None
            if kind == RELAY and cur is None:
                errors.append(unknown_sender(key))
    return Verdict(offsets, delivered, errors, stray_bytes, held)


def is_complete(verdict, streams):
    """Every message reached this receiver exactly once, in per-sender order, intact, and
    nothing else did."""
    return (not verdict.errors and not verdict.stray and not verdict.held
            and all(offset == len(stream) for offset, stream in zip(verdict.offsets, streams)))


# ------------------------------------------------------------------------- the whole chat

def expected_deliveries(messages, senders, readers):
    """Deliveries in a complete chat: each sender's messages reach every other reader (the
    senders are readers, and a sender is not sent its own)."""
    return messages * senders * (readers - 1)


def completeness_pct(delivered, expected):
    return round(100.0 * delivered / expected, 3) if expected else None
