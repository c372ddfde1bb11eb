"""The machine under the servers: how steady its CPU is on its own (the noise probe), how
much the host stole during a chat (``/proc/stat``), and which cores to pin to."""

import os
import statistics
import time

from .common import MAX_TURNS

#: A run whose server CPU had at least this share (%) of its time stolen by the host gets
#: a warning line. Measured here at --rate 10 (ours, the C and the Python floor): every
#: run from ~1 % of steal up (11) missed a 3 ms p99, and at 8-9 % it was 10-17 ms. Below, p99
#: still varied 1.2-3.8 ms: this VM is nested, and its host's host can slow it without
#: the guest seeing steal (the noise probe found 3-5 % of its time slowed 14-51x while
#: /proc/stat counted one tick of steal in 35 s), so no steal does not prove a quiet host.
STEAL_WARNING_PCT = 1.0

#: The noise probe: how long, how much work per chunk, what counts as a slowed chunk.
NOISE_SECONDS = 2.0
NOISE_WORK = 2000
NOISE_SLOW = 4.0


def _noise_chunk():
    total = 0
    for number in range(NOISE_WORK):
        total += number
    return total


def machine_noise(seconds=NOISE_SECONDS):
    """How steady this CPU is on its own: the same small piece of work (~60 us) timed over
    and over for ``seconds``, nothing else running in this benchmark. On a virtual machine
    whose host is busy, every process is slowed many times over for tens of milliseconds at
    a time, and any latency tail measured then is the machine's, not the server's. Returns
    the share of the time spent in chunks slower than ``NOISE_SLOW`` x the median, the
    worst slowdown, and how many such stretches (separated by 100 ms) there were."""
    chunks = []
    deadline = time.perf_counter() + seconds
    for _ in range(MAX_TURNS):
        started = time.perf_counter()
        if started > deadline:
            break
        _noise_chunk()
        chunks.append((started, time.perf_counter() - started))
    if len(chunks) < 10:
        return None
    median = statistics.median(took for _, took in chunks)
    slow = [(when, took) for when, took in chunks if took > NOISE_SLOW * median]
    stretches, last = 0, None
    for when, _ in slow:
        if last is None or when - last > 0.1:
            stretches += 1
        last = when
    return {'seconds': seconds, 'chunk_us': round(median * 1e6, 1),
            'slowed_time_pct': round(100.0 * sum(took for _, took in slow)
                                     / sum(took for _, took in chunks), 2),
            'worst_slowdown': round(max(took for _, took in chunks) / median, 1),
            'slowed_stretches': stretches}


def read_steal():
    """``{cpu: (steal ticks, all ticks)}`` from /proc/stat, per CPU and for all (``None``).

    Steal is time a virtual CPU wanted to run and its host ran something else: a message
    that reaches a server whose CPU is stolen waits, however fast the server is.
    """
    found = {}
    try:
        with open('/proc/stat') as stat:
            for line in stat:
                if not line.startswith('cpu'):
                    break
                name, *fields = line.split()
                ticks = [int(field) for field in fields[:8]]
                cpu = None if name == 'cpu' else int(name[3:])
                found[cpu] = (ticks[7] if len(ticks) > 7 else 0, sum(ticks))
    except (OSError, ValueError):
        return {}
    return found


def steal_pct(before, after, cpu):
    """Steal as a share of a CPU's time between two ``read_steal()`` readings."""
    if cpu not in before or cpu not in after:
        return None
    steal = after[cpu][0] - before[cpu][0]
    total = after[cpu][1] - before[cpu][1]
    return round(100.0 * steal / total, 2) if total > 0 else None


def cpu_plan(pin):
    """``(server cpu, generator cpu)`` for pinning, or ``(None, None)``."""
    if not pin or not hasattr(os, 'sched_getaffinity'):
        return None, None
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None, None
    return cpus[0], cpus[1]
