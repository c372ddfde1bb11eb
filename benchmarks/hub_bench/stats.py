"""Numbers: a server's CPU and memory from ``/proc``, and latencies as percentiles."""

import os


def read_proc_cpu(pid):
    """``(ticks, ns)``: utime+stime from /proc/PID/stat, and the tasks' schedstat run time."""
    with open('/proc/%d/stat' % pid, 'rb') as stat:
        fields = stat.read().rsplit(b')', 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])   # utime, stime (fields 14 and 15)
    ns = 0
    try:
        for task in os.listdir('/proc/%d/task' % pid):
            with open('/proc/%d/task/%s/schedstat' % (pid, task), 'rb') as sched:
                ns += int(sched.read().split()[0])
    except OSError:
        ns = None
    return ticks, ns


def read_proc_memory(pid):
    """``{'VmHWM': kB, 'VmRSS': kB}`` from /proc/PID/status."""
    found = {}
    with open('/proc/%d/status' % pid) as status:
        for line in status:
            key = line.split(':', 1)[0]
            if key in ('VmHWM', 'VmRSS'):
                found[key] = int(line.split()[1])
    return found


def percentile(ordered, fraction):
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def ms(seconds):
    return None if seconds is None else round(seconds * 1000.0, 3)


def arrival_parts(latencies, keys):
    """Arrival latency in two parts: *pickup*, from a message's send to its first arrival
    anywhere (the server noticing, reading and writing once), once per message; and
    *spread*, from that first arrival to each one (the server's walk over the recipients).
    """
    first = {}
    for latency, key in zip(latencies, keys):
        if latency < first.get(key, float('inf')):
            first[key] = latency
    spread = [latency - first[key] for latency, key in zip(latencies, keys)]
    return {'arrival_pickup_ms': latency_summary(first.values()),
            'arrival_spread_ms': latency_summary(spread)}


def latency_summary(values):
    """p50, p99, max and min of latencies in seconds, in milliseconds."""
    ordered = sorted(values)
    return {'p50': ms(percentile(ordered, 0.50)), 'p99': ms(percentile(ordered, 0.99)),
            'max': ms(ordered[-1] if ordered else None),
            'min': ms(ordered[0] if ordered else None)}
