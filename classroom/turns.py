"""The hub's turn planning: which writes one turn of the event loop makes, in what order.

Rule 1: everything that decides what a client is sent, in which write and in which order,
lives here. Rule 2: nothing here touches a socket, a transport, an event loop or a thread;
the functions take plain data (bytes, lists, opaque client objects used only as keys and
compared by identity) and return plain data. ``core.InstructorServer`` keeps the queues,
asks these functions what to do with them, and performs the writes they return, in order.
``tests/test_turns.py`` runs them in memory.

Theory of operation
===================

Within one turn of the loop the server *queues*; at the end of the turn it *writes*. Two
queues hold a turn's bytes:

- ``broadcasts``: ``[(data, excluded), ...]`` in the order they were made; each is for
  every client online but ``excluded`` (``None`` excludes nobody). A broadcast costs one
  list entry, whatever the size of the room.
- the *outboxes*: for a single client, ``[data, ...]`` in order. A client's outbox is
  listed (``outboxes``, ``[(client, outbox), ...]``) in the order its first bytes of the
  turn were queued.

Three rules keep every client's stream in the order its bytes were queued:

1. A broadcast is queued once for all only while no outbox holds anything; after a single
   send, it goes into the outboxes, after what they hold (``broadcast_goes_to_outboxes``).
   So every queued broadcast is older than every byte in an outbox.
2. The end of a turn writes the broadcasts first, then the outboxes
   (``end_of_turn_writes``): for each client online, in join order, one write of every
   broadcast joined but for those it is excluded from (``fan_out``); then, in the order
   they were listed, one write of each outbox joined (``outbox_writes``).
3. When a newcomer joins, the broadcasts queued so far were not for it: they move into the
   outboxes of those online before it, *in front of* what those hold
   (``shares_before_a_join``), and the queue of broadcasts is empty again.

A client leaving gracefully in the middle of a turn first gets what was queued for it: its
share of the broadcasts, then its outbox, in two writes (``leaving_writes``). A write is
never empty: a client with nothing due gets no write at all.

So a relayed message is never interleaved with another one in a recipient's stream; each
recipient gets one sender's messages in the order they were read; and when ten students'
messages arrive in the same turn, each of the others costs the server one ``send()`` for
all ten instead of ten.

Clients that stop reading
-------------------------
What a client's socket cannot take waits in the server's buffer for it. A write that
leaves more than ``limit`` bytes waiting for a client that is online and not marked yet
marks it (``goes_over_limit``); marked clients are dropped, in the order they were
marked, once the end-of-turn writes are all made, never in the middle of them, and what
was still queued for them is discarded. A client is marked at most once.
"""

__all__ = ['share_of', 'broadcast_goes_to_outboxes', 'shares_before_a_join', 'fan_out',
           'outbox_bytes', 'outbox_writes', 'end_of_turn_writes', 'leaving_writes',
           'goes_over_limit']


def share_of(client, broadcasts):
    """The bytes of ``broadcasts`` (in order) that are for ``client``, joined."""
    return b''.join([data for data, excluded in broadcasts if excluded is not client])


def broadcast_goes_to_outboxes(recording, outboxes_waiting):
    """Whether a new broadcast must be queued into each recipient's outbox instead of once
    for all: when some outbox holds bytes already (rule 1: they must go out first), or when
    every queued byte is recorded per recipient (``recording``)."""
    return recording or outboxes_waiting


def shares_before_a_join(online, broadcasts):
    """What the turn's ``broadcasts`` become when a newcomer joins (rule 3).

    Args:
        online: the clients online before the newcomer, in join order.
        broadcasts: ``[(data, excluded), ...]`` queued so far this turn.
    Returns:
        ``[(client, [data, ...]), ...]``, in the order of ``online``, for each client that
        any of them is for: to go in front of what the client's outbox holds. Afterwards
        no broadcast is queued any more.
    """
    shares = []
    for client in online:
        share = [data for data, excluded in broadcasts if excluded is not client]
        if share:
            shares.append((client, share))
    return shares


def fan_out(recipients, broadcasts):
    """The writes of a turn's broadcasts: ``[(client, data), ...]``, one per recipient.

    Each of ``recipients`` (the clients online, in join order) gets every broadcast joined,
    but for those it is excluded from; one with nothing due gets no write. Recipients
    that sent none of the broadcasts share one bytes object. The hot path of a busy room.
    """
    if len(broadcasts) == 1:
        data, excluded = broadcasts[0]
        if not data:
            return []
        return [(client, data) for client in recipients if client is not excluded]
    if not broadcasts:
        return []
    own = {}
    for _, excluded in broadcasts:
        if excluded is not None and excluded not in own:
            own[excluded] = share_of(excluded, broadcasts)
    data = b''.join([chunk for chunk, _ in broadcasts])
    writes = []
    for client in recipients:
        chunk = own.get(client, data)
        if chunk:
            writes.append((client, chunk))
    return writes


def outbox_bytes(outbox):
    """What one write of ``outbox`` (a list of bytes) sends: all of it, in order."""
    return outbox[0] if len(outbox) == 1 else b''.join(outbox)


def outbox_writes(outboxes):
    """The writes of a turn's outboxes: ``[(client, data), ...]``.

    ``outboxes`` is ``[(client, outbox), ...]`` in the order each outbox got its first bytes
    of the turn; each outbox that holds anything is one write, in that order.
    """
    return [(client, outbox_bytes(outbox)) for client, outbox in outboxes if outbox]


def end_of_turn_writes(recipients, broadcasts, outboxes):
    """Every write the end of a turn makes, in order (rule 2): ``[(client, data), ...]``.

    Args:
        recipients: the clients online, in join order.
        broadcasts: ``[(data, excluded), ...]`` queued this turn.
        outboxes: ``[(client, outbox), ...]`` in the order they were first queued into.
    """
    writes = fan_out(recipients, broadcasts)
    if outboxes:
        writes.extend(outbox_writes(outboxes))
    return writes


def leaving_writes(client, broadcasts, outbox):
    """What a client leaving gracefully mid-turn is sent before its close: ``[data, ...]``,
    its share of the broadcasts queued so far, then its outbox, a write each."""
    writes = []
    share = share_of(client, broadcasts)
    if share:
        writes.append(share)
    if outbox:
        writes.append(outbox_bytes(outbox))
    return writes


def goes_over_limit(online, marked, backlog, limit):
    """Whether a write that left ``backlog`` bytes waiting for a client marks it to be
    dropped: it is online, not marked yet, and more than ``limit`` bytes wait."""
    return online and not marked and backlog > limit
