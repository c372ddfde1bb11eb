"""Two servers measured in the same stretch of the machine's time: ``--versus PROGRAM``.

A latency tail at chat rate is set by the host more than by either server: over a 20 s
chat, p99 is the ~20 slowest messages, and those are the ones a stolen CPU slice held up.
Two whole runs one after the other each get their own share of that, so the ratio of
their p99s swings from 0.5 to 3.8 between rounds on this VM while neither server changes.

Here both servers run for the whole measurement, pinned to the same core, each with its
own N clients connected once. The chat is cut into short segments, and the segments
alternate between the servers in the order A B B A A B ... (so that neither always goes
first after a pause). Every delivery's arrival latency is kept with its server, and the
report gives each server's p99 over all its segments pooled, the ratio of the two, the
median of the per-pair ratios, and each segment's p99 beside the host's steal during it.
A stretch of steal that lasts seconds then falls on both servers alike, instead of on
whichever happened to be running.
"""

import array
import gc
import json
import os
import resource
import signal
import statistics
import sys

from .clients import Load
from .common import fail
from .judge import HubWire
from .machine import machine_noise, read_steal, steal_pct
from .servers import start_our_hub
from .stats import arrival_parts, latency_summary, read_proc_cpu, read_proc_memory

#: Limits on the options: every loop here is bounded.
MAX_PAIRS = 200
MAX_SEGMENT_SECONDS = 60.0


class Contender:
    """One server with its clients connected, and what its segments measured, pooled."""

    def __init__(self, name, program, args, max_clients):
        self.name = name
        self.server, self.port = start_our_hub(max_clients, args.cpus[0], program,
                                               args.nice, args.realtime)
        self.load = Load(HubWire, self.port, args, 0)
        self.arrivals = array.array('d')
        self.arrival_keys = array.array('l')
        self.latencies = array.array('d')
        self.segments = []           # per segment: its p99 and the steal during it
        self.cpu_ticks = 0
        self.delivered = self.expected = 0
        self.errors = []

    def connect(self, args):
        registered, seconds, _ = self.load.connect()
        if registered < args.clients or not self.load._quiet():
            fail('%s: only %d of %d clients registered within %.0f s'
                 % (self.name, registered, args.clients, args.connect_timeout), 1)
        return seconds

    def segment(self, number, messages, server_cpu):
        """Chat one segment; add its deliveries to the pool."""
        load = self.load
        load.prepare_chat(messages)
        load.errors = []       # each segment's own
        gc.collect()
        gc.disable()
        try:
            steal_before = read_steal()
            cpu_before = read_proc_cpu(self.server.pid)
            load.chat()
            cpu_after = read_proc_cpu(self.server.pid)
            steal_after = read_steal()
        finally:
            gc.enable()
        # The message keys restart each segment: offset them so that each message in the
        # pool is told apart when its first arrival (pickup) is found.
        base = number * len(load.senders) * messages
        self.arrival_keys.extend(key + base for key in load.arrival_keys)
        self.arrivals.extend(load.arrival_latencies)
        self.latencies.extend(load.latencies)
        self.cpu_ticks += cpu_after[0] - cpu_before[0]
        self.delivered += load.delivered
        self.expected += load.expected
        self.errors.extend(error for error in load.errors if error is not None)
        steal = steal_pct(steal_before, steal_after, server_cpu)
        if steal is None:
            steal = steal_pct(steal_before, steal_after, None)
        p99 = latency_summary(load.arrival_latencies)['p99']
        self.segments.append({'segment': number, 'arrival_p99_ms': p99,
                              'host_steal_pct': steal,
                              'complete': load.delivered == load.expected})
        return p99, steal

    def summary(self):
        tick = os.sysconf('SC_CLK_TCK')
        steals = [s['host_steal_pct'] for s in self.segments if s['host_steal_pct'] is not None]
        return {
            'server': self.name,
            'segments': len(self.segments),
            'delivered': self.delivered,
            'expected_deliveries': self.expected,
            'complete': self.delivered == self.expected and not self.errors,
            'errors': self.errors[:5],
            'arrival_latency_ms': latency_summary(self.arrivals),
            'latency_ms': latency_summary(self.latencies),
            **arrival_parts(self.arrivals, self.arrival_keys),
            'server_cpu_us_per_delivery': (
                round(1e6 * self.cpu_ticks / tick / self.delivered, 3)
                if self.delivered else None),
            'host_steal_pct_median': round(statistics.median(steals), 3) if steals else None,
            'memory_kb': read_proc_memory(self.server.pid),
        }

    def close(self):
        self.load.close()
        self.server.stop(signal.SIGINT)


def order_of(pair):
    """Which contender goes first in a pair: 0 1, 1 0, 0 1, ... (A B B A A B ...)."""
    return (0, 1) if pair % 2 == 0 else (1, 0)


def run(args):
    """The whole interleaved measurement; prints the report and the JSON line."""
    if not args.rate:
        fail('--versus measures the chat-rate tail: it needs --rate')
    if not 1 <= args.pairs <= MAX_PAIRS:
        fail('--pairs must be 1-%d' % MAX_PAIRS)
    if not 0 < args.segment_seconds <= MAX_SEGMENT_SECONDS:
        fail('--segment-seconds must be in (0, %g]' % MAX_SEGMENT_SECONDS)
    messages = max(1, int(round(args.rate * args.segment_seconds)))
    max_clients = args.clients + 8
    names = ('hub' if not args.hub_program else ' '.join(args.hub_program),
             ' '.join(args.versus))
    contenders = []
    noise = {}
    try:
        for name, program in zip(names, (args.hub_program, args.versus)):
            contenders.append(Contender(name, program, args, max_clients))
        for contender in contenders:
            seconds = contender.connect(args)
            sys.stderr.write('hub_bench: %s: %d clients registered in %.2f s\n'
                             % (contender.name, args.clients, seconds))
        noise['before'] = machine_noise()     # both servers up and idle
        pairs = []
        own_before = resource.getrusage(resource.RUSAGE_SELF)
        for pair in range(args.pairs):
            measured = {}
            for index in order_of(pair):
                measured[index] = contenders[index].segment(pair, messages, args.cpus[0])
            pairs.append(measured)
            sys.stderr.write('hub_bench: pair %d: p99 %s ms (steal %s %%) / %s ms (%s %%)\n'
                             % (pair + 1, measured[0][0], measured[0][1],
                                measured[1][0], measured[1][1]))
        own_after = resource.getrusage(resource.RUSAGE_SELF)
        summaries = [contender.summary() for contender in contenders]
    finally:
        for contender in contenders:
            contender.close()
    noise['after'] = machine_noise()
    report(summaries, pairs, noise, args, messages,
           (own_after.ru_utime + own_after.ru_stime)
           - (own_before.ru_utime + own_before.ru_stime))
    return 0 if all(summary['complete'] for summary in summaries) else 1


def pair_ratios(pairs):
    ratios = []
    for measured in pairs:
        ours, theirs = measured[0][0], measured[1][0]
        if ours is not None and theirs:
            ratios.append(round(ours / theirs, 3))
    return ratios


def report(summaries, pairs, noise, args, messages, generator_cpu_s):
    ours, theirs = summaries
    print('%d pairs of %.3g s segments (%d messages per sender each), order A B B A ...; '
          'A = %s, B = %s' % (len(pairs), args.segment_seconds, messages, ours['server'],
                              theirs['server']))
    print('%-30s%22s%22s' % ('', 'A', 'B'))
    rows = [
        ('complete', lambda s: '%s (%d/%d)' % (s['complete'], s['delivered'],
                                               s['expected_deliveries'])),
        ('arrival p50 ms (pooled)', lambda s: s['arrival_latency_ms']['p50']),
        ('arrival p99 ms (pooled)', lambda s: s['arrival_latency_ms']['p99']),
        ('arrival max ms', lambda s: s['arrival_latency_ms']['max']),
        ('  pickup p50/p99 ms', lambda s: '%s / %s' % (s['arrival_pickup_ms']['p50'],
                                                       s['arrival_pickup_ms']['p99'])),
        ('  spread p50/p99 ms', lambda s: '%s / %s' % (s['arrival_spread_ms']['p50'],
                                                       s['arrival_spread_ms']['p99'])),
        ('latency p99 ms (generator)', lambda s: s['latency_ms']['p99']),
        ('server CPU us/delivery', lambda s: s['server_cpu_us_per_delivery']),
        ('host steal % median', lambda s: s['host_steal_pct_median']),
    ]
    for label, get in rows:
        print('%-30s%22s%22s' % (label, get(ours), get(theirs)))
    for summary in summaries:
        for error in summary['errors']:
            print('  ! %s: %s' % (summary['server'], error))
    ratios = pair_ratios(pairs)
    pooled = None
    if ours['arrival_latency_ms']['p99'] and theirs['arrival_latency_ms']['p99']:
        pooled = round(ours['arrival_latency_ms']['p99'] / theirs['arrival_latency_ms']['p99'],
                       3)
    print('per-pair p99 ms, A / B (host steal % of the server CPU): ' + ', '.join(
        '%s (%s) / %s (%s)' % (m[0][0], m[0][1], m[1][0], m[1][1]) for m in pairs))
    print('ratio A/B arrival p99 pooled: %s; median of %d pair ratios: %s (min %s, max %s)'
          % (pooled, len(ratios), round(statistics.median(ratios), 3) if ratios else None,
             min(ratios) if ratios else None, max(ratios) if ratios else None))
    for when, probe in noise.items():
        if probe:
            print('machine noise %-6s %5.2f %% of %.0f s slowed (worst %.0fx)'
                  % (when, probe['slowed_time_pct'], probe['seconds'], probe['worst_slowdown']))
    print(json.dumps({'benchmark': 'hub_relay_interleaved', 'python': sys.version.split()[0],
                      'params': vars(args), 'messages_per_segment': messages,
                      'machine_noise': noise, 'results': summaries,
                      'pairs': [{'A': m[0], 'B': m[1]} for m in pairs],
                      'ratio_pooled_p99': pooled, 'pair_ratios': ratios,
                      'generator_cpu_s': round(generator_cpu_s, 3)}, ensure_ascii=False))
