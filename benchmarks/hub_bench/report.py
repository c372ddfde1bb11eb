"""The report: the table of each run's results, the noise and steal lines, the ratios of
ours to ncat, the summary over repeated runs, and last one JSON line of everything."""

import json
import statistics
import sys

from .machine import NOISE_SLOW, STEAL_WARNING_PCT


def host_steal(result):
    """The host's steal during one run's chat, in % of the server's CPU (else of all CPUs)."""
    steal = result.get('host_steal_pct') or {}
    server = steal.get('server_cpu')
    return server if server is not None else steal.get('all_cpus')


ROWS = [
    ('registered', lambda r: '%s/%s in %.2f s' % (r.get('registered'), r.get('clients'),
                                                  r.get('connect_s', 0))),
    ('completeness %', lambda r: r.get('completeness_pct')),
    ('corrupt/misordered', lambda r: r.get('corrupt_or_misordered')),
    ('latency p50 ms', lambda r: r.get('latency_ms', {}).get('p50')),
    ('latency p99 ms', lambda r: r.get('latency_ms', {}).get('p99')),
    ('latency max ms', lambda r: r.get('latency_ms', {}).get('max')),
    ('arrival p50 ms', lambda r: r.get('arrival_latency_ms', {}).get('p50')),
    ('arrival p99 ms', lambda r: r.get('arrival_latency_ms', {}).get('p99')),
    ('arrival max ms', lambda r: r.get('arrival_latency_ms', {}).get('max')),
    ('  pickup p50/p99 ms', lambda r: '%s / %s' % (
        r.get('arrival_pickup_ms', {}).get('p50'), r.get('arrival_pickup_ms', {}).get('p99'))),
    ('  spread p50/p99 ms', lambda r: '%s / %s' % (
        r.get('arrival_spread_ms', {}).get('p50'), r.get('arrival_spread_ms', {}).get('p99'))),
    ('host steal % of server CPU', host_steal),
    ('deliveries/s', lambda r: r.get('deliveries_per_s')),
    ('messages per relayed chunk', lambda r: r.get('messages_per_relayed_chunk')),
    ('server CPU s', lambda r: r.get('server_cpu_s')),
    ('server CPU us/delivery', lambda r: r.get('server_cpu_us_per_delivery')),
    ('  (schedstat)', lambda r: r.get('server_cpu_us_per_delivery_schedstat')),
    ('server peak RSS MB', lambda r: round(r['memory_kb']['VmHWM'] / 1024.0, 1)
     if r.get('memory_kb', {}).get('VmHWM') else None),
    ('generator CPU s (busy %)', lambda r: '%s (%s)' % (r.get('generator_cpu_s'),
                                                        r.get('generator_busy_pct'))),
    ('Chinese byte-exact', lambda r: r.get('text', {}).get('chinese', {}).get('exact')),
    ('invalid UTF-8 -> U+FFFD', lambda r: r.get('text', {}).get('invalid_utf8', {}).get('exact')),
    ('stuck dropped after s', lambda r: r.get('stuck_dropped_after_s', '-')
     if r.get('stuck_clients') else '-'),
    ('error', lambda r: r.get('error', '')),
]


def ratio(ours, theirs, key):
    a, b = key(ours), key(theirs)
    if not isinstance(a, (int, float)) or not isinstance(b, (int, float)) or not b:
        return None
    return round(a / b, 3)


RATIOS = {
    'server_cpu_us_per_delivery': lambda r: r.get('server_cpu_us_per_delivery'),
    'server_cpu_us_per_delivery_schedstat':
        lambda r: r.get('server_cpu_us_per_delivery_schedstat'),
    'latency_p99': lambda r: r.get('latency_ms', {}).get('p99'),
    'latency_p50': lambda r: r.get('latency_ms', {}).get('p50'),
    'arrival_p99': lambda r: r.get('arrival_latency_ms', {}).get('p99'),
    'deliveries_per_s': lambda r: r.get('deliveries_per_s'),
    'peak_rss': lambda r: r.get('memory_kb', {}).get('VmHWM'),
}


def print_table(results):
    names = list(results)
    width = max(18, max(len(n) for n in names) + 2)
    print('%-26s' % '' + ''.join('%*s' % (width, n) for n in names))
    for label, get in ROWS:
        cells = []
        for name in names:
            try:
                value = get(results[name])
            except (KeyError, TypeError, ZeroDivisionError):
                value = None
            cells.append('%*s' % (width, '' if value is None else value))
        print('%-26s' % label + ''.join(cells))
    for error_list in (r.get('errors') for r in results.values()):
        for error in error_list or []:
            print('  ! %s' % error)


def report(results, noise, args, names):
    """Print the table, the noise and steal lines, the ratios, the summary over runs when
    repeated, and last the JSON line of everything."""
    print_table(results)
    for when, probe in noise.items():
        if probe:
            print('machine noise %-6s %5.2f %% of %.0f s slowed > %.0fx (worst %.0fx, %d stretches)'
                  % (when, probe['slowed_time_pct'], probe['seconds'], NOISE_SLOW,
                     probe['worst_slowdown'], probe['slowed_stretches']))
    for label, result in results.items():
        steal = host_steal(result)
        if steal is not None and steal >= STEAL_WARNING_PCT:
            print("host steal: the host took %.2f %% of %s's CPU during the chat; its latency "
                  'tail measures the host as much as the server' % (steal, label))
    ratios = {}
    for label in results:
        if label.startswith('hub'):
            other = 'ncat' + label[3:]
            if other in results:
                ratios['%s/%s' % (label, other)] = {
                    key: ratio(results[label], results[other], get) for key, get in RATIOS.items()}
    if args.stuck:
        for name in names:
            if name in results and name + '+stuck' in results:
                ratios['%s+stuck/%s p99' % (name, name)] = ratio(
                    results[name + '+stuck'], results[name], RATIOS['latency_p99'])
    if args.repeat > 1:
        ratios['median'] = median_ratios(ratios)
    for key, value in ratios.items():
        print('ratio %s: %s' % (key, value))
    over_runs = {}
    if args.repeat > 1:
        for name in names:
            over_runs[name] = summary_over_runs(
                [result for label, result in results.items()
                 if label.split('#')[0] == name], args.p99_target)
            print('%s over %d runs: %s' % (name, args.repeat, over_runs[name]))
    print(json.dumps({'benchmark': 'hub_relay', 'python': sys.version.split()[0],
                      'params': vars(args), 'machine_noise': noise,
                      'results': results, 'ratios': ratios, 'over_runs': over_runs},
                     ensure_ascii=False))


def summary_over_runs(runs, p99_target=None):
    """Median, min and max of one server's arrival p99, CPU per delivery and host steal
    over its runs, each run's p99 beside its steal, and with ``p99_target`` (ms) how many
    runs met it: a latency tail on a noisy machine is judged over runs, not from one."""
    summary = {}
    p99_steal = [(RATIOS['arrival_p99'](run), host_steal(run)) for run in runs]
    p99_steal = [(p99, steal) for p99, steal in p99_steal if p99 is not None]
    p99s = [p99 for p99, _ in p99_steal]
    cpus = [value for value in map(RATIOS['server_cpu_us_per_delivery'], runs)
            if value is not None]
    steals = [value for value in map(host_steal, runs) if value is not None]
    for key, values in (('arrival_p99_ms', p99s), ('cpu_us_per_delivery', cpus),
                        ('host_steal_pct', steals)):
        if values:
            summary[key] = {'median': round(statistics.median(values), 3),
                            'min': min(values), 'max': max(values)}
    summary['p99_ms_at_steal_pct'] = ['%g at %s' % pair for pair in p99_steal]
    if p99_target is not None:
        summary['runs_meeting_p99_target'] = '%d of %d (<= %g ms)' % (
            sum(value <= p99_target for value in p99s), len(p99s), p99_target)
    return summary


def median_ratios(ratios):
    """The median of each hub/ncat ratio over the repeated runs."""
    found = {}
    for label, values in ratios.items():
        if isinstance(values, dict) and '/ncat' in label and '+stuck' not in label:
            for key, value in values.items():
                if value is not None:
                    found.setdefault(key, []).append(value)
    return {key: round(statistics.median(values), 3) for key, values in found.items()}
