"""classroom.admission in memory: address lists and the cap per address."""
import pytest

from classroom.admission import (FULL, NOT_ALLOWED, PER_ADDRESS, is_allowed, parse_networks,
                                 refusal_reason)


def test_networks_and_single_addresses_and_commas():
    networks = parse_networks(['10.0.0.0/8', '192.168.1.7, 2001:db8::/32'])
    assert [str(n) for n in networks] == ['10.0.0.0/8', '192.168.1.7/32', '2001:db8::/32']
    assert [str(n) for n in parse_networks(['10.1.2.3/16'])] == ['10.1.0.0/16']
    assert parse_networks(None) == []


@pytest.mark.parametrize('bad', ['10.0.0.0/33', 'classroom', '300.1.1.1', '10.0.0.0/8/8'])
def test_a_bad_entry_is_named(bad):
    with pytest.raises(ValueError, match=repr(bad).replace('.', r'\.').replace('/', '/')):
        parse_networks(['10.0.0.0/8', bad])


def test_allow_and_deny():
    allow = parse_networks(['10.0.0.0/8'])
    deny = parse_networks(['10.9.0.0/16'])
    assert is_allowed('10.1.2.3', allow, deny)
    assert not is_allowed('10.9.2.3', allow, deny), 'deny wins'
    assert not is_allowed('192.168.1.2', allow, deny)
    assert is_allowed('192.168.1.2', [], deny)
    assert is_allowed('::ffff:10.1.2.3', allow, deny), 'IPv4 seen through a dual-stack socket'
    assert not is_allowed('::1', allow, []), 'another family never matches'
    assert is_allowed('fe80::1%eth0', parse_networks(['fe80::/10']), [])


def test_refusal_reasons_in_order():
    nothing = []
    assert refusal_reason('127.0.0.1', 0, 10, 0, 3, nothing, nothing) is None
    assert refusal_reason('127.0.0.1', 10, 10, 0, 3, nothing, nothing) == FULL
    assert refusal_reason('127.0.0.1', 5, 10, 3, 3, nothing, nothing) == PER_ADDRESS
    assert refusal_reason('127.0.0.1', 5, 10, 300, 0, nothing, nothing) is None, '0: no cap'
    deny = parse_networks(['127.0.0.0/8'])
    assert refusal_reason('127.0.0.1', 10, 10, 3, 3, nothing, deny) == NOT_ALLOWED
