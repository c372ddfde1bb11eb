"""benchmarks/hub_bench --versus: two servers side by side, short chat segments alternating
between them, each one's deliveries pooled. A tiny room on loopback, our hub against the
Python floor (benchmarks/relay_floor.py), so that the measurement cannot rot unseen."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.hub_bench import interleave

ROOT = Path(__file__).resolve().parent.parent
#: The whole command's bound: two servers, a few clients, 2 x 2 segments of 0.3 s.
COMMAND_TIMEOUT = 120

linux_only = pytest.mark.skipif(not sys.platform.startswith('linux'),
                                reason='the benchmark reads /proc')


def bench(*extra):
    return subprocess.run(
        [sys.executable, '-m', 'benchmarks.hub_bench', '--no-pin', '--clients', '5',
         '--senders', '2', '--rate', '20', *extra],
        cwd=str(ROOT), capture_output=True, text=True, timeout=COMMAND_TIMEOUT)


def test_the_order_alternates_so_that_neither_always_goes_first():
    assert [interleave.order_of(pair) for pair in range(4)] == [(0, 1), (1, 0), (0, 1), (1, 0)]


def test_pair_ratios_leave_out_a_pair_without_a_p99():
    pairs = [{0: (2.0, 0.0), 1: (1.0, 0.0)}, {0: (None, 0.0), 1: (1.0, 0.0)},
             {0: (1.5, 0.3), 1: (3.0, 0.0)}]
    assert interleave.pair_ratios(pairs) == [2.0, 0.5]


@linux_only
@pytest.mark.slow
def test_both_servers_get_every_segment_and_every_delivery_is_pooled():
    done = bench('--versus', sys.executable, 'benchmarks/relay_floor.py',
                 '--pairs', '2', '--segment-seconds', '0.3')
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result['benchmark'] == 'hub_relay_interleaved'
    messages = result['messages_per_segment']
    assert messages == 6                       # 20 msg/s x 0.3 s
    # Each segment: 2 senders' 6 messages reach the 4 other clients.
    wanted = 2 * 2 * messages * 4
    ours, theirs = result['results']
    for summary in (ours, theirs):
        assert summary['complete'] and summary['segments'] == 2
        assert summary['delivered'] == summary['expected_deliveries'] == wanted
        assert summary['arrival_latency_ms']['p99'] > 0
    assert ours['server'] == 'hub' and 'relay_floor.py' in theirs['server']
    assert len(result['pairs']) == 2 and result['ratio_pooled_p99'] > 0
    assert 'ratio A/B arrival p99 pooled' in done.stdout


@linux_only
def test_versus_without_a_rate_is_refused_in_one_line():
    done = bench('--rate', '0', '--versus', sys.executable, 'benchmarks/relay_floor.py')
    assert done.returncode == 2
    assert done.stderr.strip() == 'hub_bench: --versus measures the chat-rate tail: it needs --rate'


@linux_only
def test_a_program_that_never_listens_is_named_and_our_hub_is_stopped():
    done = bench('--versus', 'false', '--pairs', '1', '--segment-seconds', '0.3')
    assert done.returncode == 1
    assert 'false did not log "listening on"' in done.stderr
    assert 'Traceback' not in done.stderr
    assert not hubs_of_this_test(), 'our hub outlived the failed start'


def hubs_of_this_test():
    """Our hubs started by ``bench`` (its 5 clients make --max-clients 13) still running."""
    found = []
    for proc in Path('/proc').iterdir():
        try:
            argv = (proc / 'cmdline').read_bytes().split(b'\0')
        except OSError:
            continue
        if b'classroom.hub_server' in argv and b'13' in argv and b'--max-per-ip' in argv:
            found.append(proc.name)
    return found
