"""The command: its options, and each run in turn (start a server, probe its text, connect
the clients, chat, measure, stop it); the report is printed by ``report``."""

import argparse
import gc
import os
import resource
import shutil
import signal
import sys

from . import __doc__ as OVERVIEW
from . import interleave
from .clients import Load, probe_text
from .common import fail
from .judge import HubWire, NcatWire, completeness_pct, message_bytes
from .machine import cpu_plan, machine_noise, read_steal, steal_pct
from .report import report
from .servers import start_ncat, start_our_hub
from .stats import arrival_parts, latency_summary, read_proc_cpu, read_proc_memory

#: Extra ports ncat and our hub must allow beyond the clients (the probe's two, a margin).
SPARE_CLIENTS = 8

TARGETS = {'hub': (HubWire, start_our_hub), 'ncat': (NcatWire, start_ncat)}


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m benchmarks.hub_bench',
                                     description=OVERVIEW.splitlines()[0])
    parser.add_argument('--clients', type=int, default=100,
                        help='N clients, all reading (default 100)')
    parser.add_argument('--senders', type=int, default=10, help='S of them send (default 10)')
    parser.add_argument('--messages', type=int, default=200, help='M messages each (default 200)')
    parser.add_argument('--size', type=int, default=64, help='bytes per message (default 64)')
    parser.add_argument('--rate', type=float, default=0.0,
                        help='messages/s per sender; 0 (default): flat out')
    parser.add_argument('--window', type=int, default=1,
                        help='flat out: messages per sender on their way at once (sent, not '
                             'yet received by every other client); 0: no limit, each sender '
                             'pours all M into its socket (default 1)')
    parser.add_argument('--duration', type=float, default=0.0,
                        help='with --rate: chat this many seconds (sets M = rate x duration)')
    parser.add_argument('--stuck', type=int, default=0,
                        help='also run with this many clients that never read (default 0)')
    parser.add_argument('--connect-wave', type=int, default=8,
                        help='clients connecting at once (0: all at once; default 8, since '
                             "ncat's listen backlog is 10)")
    parser.add_argument('--connect-timeout', type=float, default=60.0,
                        help='seconds to connect and register everyone (default 60)')
    parser.add_argument('--timeout', type=float, default=60.0,
                        help='seconds the chat may take beyond its schedule (default 60)')
    parser.add_argument('--no-ncat', action='store_true', help='run our hub alone')
    parser.add_argument('--ncat-only', action='store_true', help='run ncat alone')
    parser.add_argument('--hub-program', nargs='+', metavar='ARG',
                        help='run this instead of `python -m classroom.hub_server` (it gets '
                             '--host, --port 0, --quiet and --max-clients, and must log '
                             '"listening on HOST:PORT" to stderr), e.g. a variant under test')
    parser.add_argument('--no-pin', action='store_true', help='do not pin to separate cores')
    parser.add_argument('--spin', action='store_true',
                        help='the generator polls its sockets without ever sleeping, so that '
                             'its own wake-up delay (long on a virtual machine) is not counted '
                             'as the server\'s latency; it then shows 100%% busy')
    parser.add_argument('--nice', type=int, default=0, metavar='N',
                        help='run both servers and the generator at this niceness (e.g. -10, '
                             'needs root), so that other work on a shared machine does not '
                             'preempt them and turn the latency tail into a measure of that')
    parser.add_argument('--realtime', type=int, default=0, metavar='PRIORITY',
                        help='run both servers and the generator under SCHED_FIFO at this '
                             'priority (1-99, needs root): on a machine busy with other work, '
                             'this measures the servers rather than the scheduler. Flat out, '
                             'they then hold two cores for the length of the run')
    parser.add_argument('--repeat', type=int, default=1, help='runs per server, alternating')
    parser.add_argument('--p99-target', type=float, metavar='MS',
                        help='with --repeat: count the runs whose arrival p99 is at most this')
    parser.add_argument('--versus', nargs='+', metavar='ARG',
                        help='with --rate: run our hub (or --hub-program) and this program '
                             '(same arguments as --hub-program, e.g. /tmp/relay_floor) side '
                             'by side for the whole measurement, and alternate short chat '
                             'segments between them (A B B A ...), so that both get the same '
                             "stretch of the host's time; reports each one's p99 pooled over "
                             'its segments and the ratio')
    parser.add_argument('--pairs', type=int, default=20,
                        help='with --versus: segment pairs (default 20)')
    parser.add_argument('--segment-seconds', type=float, default=3.0,
                        help='with --versus: seconds of chat per segment (default 3)')
    args = parser.parse_args(argv)
    if args.p99_target is not None and args.p99_target <= 0:
        fail('--p99-target must be a positive number of milliseconds')
    if not sys.platform.startswith('linux'):
        fail('Linux only (it reads /proc)')
    if not 1 <= args.senders <= args.clients or args.messages < 1 or not 1 <= args.repeat <= 20:
        fail('need 1 <= --senders <= --clients, --messages >= 1, 1 <= --repeat <= 20')
    if min(args.window, args.stuck, args.connect_wave, args.rate, args.duration) < 0:
        fail('--window, --stuck, --connect-wave, --rate and --duration cannot be negative')
    if args.size < len(message_bytes(args.senders, max(args.messages, 1) * 10, 0)) + 1:
        fail('--size %d is too small for the tags [s.n]' % args.size)
    if args.duration and not args.rate:
        fail('--duration needs --rate')
    if not (args.no_ncat or args.versus) and shutil.which('ncat') is None:
        fail('ncat is not installed: `apt-get install -y ncat` (Debian/Ubuntu), '
             'or pass --no-ncat to run our hub alone')
    raise_fd_limit(args.clients + args.stuck + SPARE_CLIENTS + 64)
    if args.nice:
        os.setpriority(os.PRIO_PROCESS, 0, args.nice)
    if args.realtime:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(args.realtime))
    args.cpus = cpu_plan(not args.no_pin)     # before this process pins itself
    if args.cpus[1] is not None:
        os.sched_setaffinity(0, {args.cpus[1]})
    if args.versus:
        return interleave.run(args)
    names = ([] if args.ncat_only else ['hub']) + ([] if args.no_ncat else ['ncat'])
    results = {}
    noise = {'before': machine_noise()}
    for number in range(args.repeat):
        for name in names:
            for stuck in ([0, args.stuck] if args.stuck else [0]):
                label = name + ('+stuck' if stuck else '') + (
                    '#%d' % (number + 1) if args.repeat > 1 else '')
                sys.stderr.write('hub_bench: running %s ...\n' % label)
                results[label] = run_target(name, args, stuck)
    noise['after'] = machine_noise()
    report(results, noise, args, names)
    return 0


# ------------------------------------------------------------------------- one measured run

def run_target(name, args, stuck):
    wire, start = TARGETS[name]
    max_clients = args.clients + stuck + SPARE_CLIENTS
    server_cpu = args.cpus[0]
    server, port = start(max_clients, server_cpu, args.hub_program if name == 'hub' else None,
                         args.nice, args.realtime)
    result = {'server': name, 'stuck_clients': stuck, 'port': port}
    load = None
    try:
        result['text'] = probe_text(port, wire)
        load = Load(wire, port, args, stuck)
        registered, seconds, worst = load.connect()
        total = args.clients + stuck
        result['registered'] = registered
        result['clients'] = total
        result['connect_s'] = round(seconds, 3)
        result['slowest_wave_s'] = round(worst, 3)
        if registered < total or not load._quiet():
            result['error'] = ('only %d of %d clients registered within %.0f s'
                               % (registered, total, args.connect_timeout))
            result['memory_kb'] = read_proc_memory(server.pid)
            return result
        messages = args.messages if not (args.rate and args.duration) else int(
            round(args.rate * args.duration))
        load.prepare_chat(messages)
        # No garbage collection while chatting: a full pass over the generator's objects
        # would stall it for milliseconds and show up as the server's latency. The chat
        # loop makes no reference cycles, and it is bounded.
        gc.collect()
        gc.disable()
        try:
            steal_before = read_steal()
            cpu_before = read_proc_cpu(server.pid)
            own_before = resource.getrusage(resource.RUSAGE_SELF)
            load.chat()
            cpu_after = read_proc_cpu(server.pid)
            own_after = resource.getrusage(resource.RUSAGE_SELF)
            steal_after = read_steal()
        finally:
            gc.enable()
        result['memory_kb'] = read_proc_memory(server.pid)
        result.update(summarise(load, messages, cpu_before, cpu_after, own_before, own_after))
        result['host_steal_pct'] = {
            'server_cpu': steal_pct(steal_before, steal_after, server_cpu),
            'all_cpus': steal_pct(steal_before, steal_after, None)}
        if stuck:
            result.update(stuck_report(load, server, wire))
    finally:
        if load is not None:
            load.close()
        server.stop(signal.SIGINT if name == 'hub' else signal.SIGTERM)
    result['server_log_tail'] = server.lines[-3:]
    return result


def summarise(load, messages, cpu_before, cpu_after, own_before, own_after):
    tick = os.sysconf('SC_CLK_TCK')
    delivered = load.delivered
    wall = load.chat_ended - load.chat_started
    busy = (load.last_delivery or load.chat_ended) - load.chat_started
    ticks = cpu_after[0] - cpu_before[0]
    ns = None if cpu_after[1] is None else cpu_after[1] - cpu_before[1]
    own = (own_after.ru_utime + own_after.ru_stime) - (own_before.ru_utime + own_before.ru_stime)
    errors = [error for error in load.errors if error is not None]
    return {
        'senders': len(load.senders),
        'messages_per_sender': messages,
        'message_bytes': load.size,
        'rate_per_sender': load.args.rate or 'flat out',
        'window': load.window or None,
        'expected_deliveries': load.expected,
        'delivered': delivered,
        'completeness_pct': completeness_pct(delivered, load.expected),
        'corrupt_or_misordered': len(load.errors),
        'errors': errors,
        'latency_ms': latency_summary(load.latencies),
        'arrival_latency_ms': latency_summary(load.arrival_latencies),
        **arrival_parts(load.arrival_latencies, load.arrival_keys),
        'kernel_stamped_reads_pct': (
            round(100.0 * load.stamped / (load.stamped + load.unstamped), 2)
            if load.stamped + load.unstamped else None),
        'deliveries_per_s': round(delivered / busy) if busy > 0 else None,
        'messages_per_relayed_chunk': round(delivered / load.relays, 2) if load.relays else None,
        'chat_s': round(wall, 3),
        'server_cpu_s': round(ticks / tick, 3),
        'server_cpu_us_per_delivery': (
            round(1e6 * ticks / tick / delivered, 3) if delivered else None),
        'server_cpu_us_per_delivery_schedstat': (
            round(ns / 1000.0 / delivered, 3) if delivered and ns is not None else None),
        'generator_cpu_s': round(own, 3),
        'generator_busy_pct': round(100.0 * own / wall, 1) if wall > 0 else None,
        'generator_recvs_per_select': (
            round(load.recvs / load.selects, 2) if load.selects else None),
    }


def stuck_report(load, server, wire):
    observer = load.clients[0]
    if wire.self_announced:   # ncat's user numbers: the stuck ones joined last
        keys = observer.order[-load.stuck_count:]
    else:
        keys = [c.port for c in load.clients if not c.reads]
    seen = [when for when, key in observer.leaves if key in keys]
    dropped_lines = [line for line in server.lines if 'dropped' in line]
    return {'stuck_dropped_after_s': (round(min(seen) - load.chat_started, 3) if seen else None),
            'drop_log_lines': dropped_lines[:3]}


def raise_fd_limit(needed):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= needed:
        return
    target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    if target < needed:
        fail('need %d file descriptors, the hard limit is %d (ulimit -Hn)' % (needed, hard))
