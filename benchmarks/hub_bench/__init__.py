"""Load generator for the classroom hub, run beside ``ncat --chat``: is ours better on every axis?

    python -m benchmarks.hub_bench                     # N=100, S=10, M=200, 64 B, flat out
    python -m benchmarks.hub_bench --clients 500
    python -m benchmarks.hub_bench --rate 10           # 10 messages/s per sender
    python -m benchmarks.hub_bench --clients 2000 --senders 1 --messages 1 --no-ncat
    python -m benchmarks.hub_bench --clients 501 --connect-wave 0 --senders 1 --messages 1
    python -m benchmarks.hub_bench --rate 10 --size 4096 --duration 30 --stuck 1

Setup (once per machine; the benchmark's, never the tests'): ``apt-get install -y ncat``
(Debian's ``ncat``, measured with 7.93). Without ncat it says so and exits 2, unless
``--no-ncat`` runs our hub alone. Linux only: it reads ``/proc``.

One run, per server (ours: ``python -m classroom.hub_server --host 127.0.0.1 --port 0 --quiet``,
its port read from its log; ncat: ``ncat -l 127.0.0.1 PORT --chat --max-conns K``):

1. **Text probe.** Two clients; one sends ``你好, 世界`` and then ``\\xff\\xfebad``; the other
   reports what arrived. The lab's spec wants the first byte-exact and the second as U+FFFD.
2. **Connect.** Client 0 connects, then the others in waves of ``--connect-wave`` (0: all at
   once). A wave is registered when client 0 has seen the server announce each of its
   clients (our join notice names the address; ncat's ``<announce> ... is connected as
   <userK>`` line counts), so no client is a "phantom" the server never saw. Then every
   client reads until it has every announcement made after its own join, so the streams
   hold nothing but relays from here on.
3. **Chat.** ``--senders`` S clients send ``--messages`` M messages of ``--size`` bytes each,
   one ``send()`` per message, flat out (``--rate 0``) or at ``--rate`` per sender, spread
   evenly; ``--duration`` sets M from the rate. Flat out, a sender has at most ``--window``
   messages on their way at once (default 1: the next goes as soon as the last one reached
   every other client, a chat going as fast as the server lets it); ``--window 0`` lets
   each sender pour all M into its socket, and the server then reads them in big chunks.
   Every client reads everything, all the time, in one ``selectors`` loop. ``--stuck K``
   runs each server twice, without and then with K more clients that never read.

Judging the streams: a message is ``[s.n]`` padded with ``-`` to its size, and holds neither
``(`` nor ``<``, which begin every relay prefix (ours ``('127.0.0.1', PORT) : ``, ncat's
``<userK> ``). Each receiver splits its stream at the prefixes and credits what follows
each one to that sender; the bytes credited to a sender must be exactly the sender's own
messages, concatenated, in order: that is "every message reached every other client
exactly once, in per-sender order, intact", however the server cut or joined the chunks.
ncat rewrites bytes >= 0x80 as octal escapes, so its completeness can only be judged on
these ASCII messages; the text probe shows what it does to Chinese.

Measured over the chat only (connecting is excluded): completeness; two latencies of each
delivery, p50/p99/max: *latency* runs from the sender's ``send()`` to the receiver's
``recv()`` returning here (one process, one clock), so it includes this generator working
through up to N ready sockets one after another, which N real students' machines would not;
*arrival* runs to the time the kernel stamped on the bytes as they reached the receiving
socket (``SO_TIMESTAMPNS``, the stamp of the last segment a read returned, so never early),
which is the server's share: read, relay, and the loopback hop, split into *pickup* (send
to the message's first arrival anywhere: the server waking, reading, writing once) and
*spread* (first arrival to each arrival: its walk over the recipients); deliveries/s; the
server's CPU (utime+stime from ``/proc/PID/stat``, in clock ticks, and the same from
``/proc/PID/task/*/schedstat`` in ns) per delivery; the server's peak RSS (``VmHWM``); this
generator's own CPU. A Python generator saturates its core before either server does, so
CPU per delivery is the fair comparison, and the server and the generator are pinned to
different cores (``taskset``) when there are two.

Before and after the runs, a probe times one small piece of work over and over for 2 s
and prints how much of that time the machine was slowed more than 4x (a virtual machine's
host taking its CPUs away), since a latency tail measured then is the machine's. During
each chat, the host's *steal* is read from ``/proc/stat``: the time the server's CPU
wanted to run while its host ran something else. A run whose steal reaches 1 % gets a
line saying its tail measures the host (no steal does not prove the host quiet, though:
see ``STEAL_WARNING_PCT``).
On a machine shared with other work, the latency tail measures the scheduler as much as
the servers: ``--nice -10`` or ``--realtime 10`` (root) give the servers and the generator
priority over that work, and ``--repeat R`` alternates R runs of each server and prints the
median of the ratios and each server's arrival p99 and CPU per delivery over its runs
(median, min, max) and each run's p99 beside its steal; ``--p99-target 3`` also counts
the runs at or under 3 ms.
``--hub-program`` measures another build of the hub in the same way.
``--versus PROGRAM`` (with ``--rate``) runs our hub (or ``--hub-program``) and PROGRAM side by
side, pinned to the same core, for the whole measurement, and alternates ``--pairs`` pairs
of ``--segment-seconds`` chat segments between them (A B B A ...): both then get the same
stretch of the host's time, and each one's p99 is pooled over its segments
(``interleave``). Whole runs one after the other each get their own share of the host's
steal, and the ratio of two tails then measures the host.

Bounded: every wait has a deadline (``--timeout`` for the chat, ``--connect-timeout`` for
connecting, fixed ones for starting and stopping), every loop a count. Loopback only.
Prints a table and one JSON line (the last line of the output).

The package, by job: ``cli`` parses the options and runs each server in turn; ``servers``
starts ours and ncat as child processes; ``clients`` is the text probe and the load, one
``selectors`` loop over every client; ``judge`` the wire formats and the judging of a
receiver's stream, plain functions over bytes; ``stats`` the percentiles and the server's
CPU and memory from ``/proc``; ``machine`` the noise probe, the host's steal and the cores;
``report`` the table, the ratios and the JSON line; ``interleave`` the ``--versus`` mode.
"""
