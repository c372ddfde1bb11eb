"""Who may take a place in the room: address lists and the cap per address (pure).

Plain functions over address strings and counts, no sockets (``tests/test_hub_admission.py``
runs them in memory); ``core.InstructorServer`` asks ``refusal_reason`` about each
newcomer before it joins.
"""
import ipaddress

__all__ = ['parse_networks', 'is_allowed', 'refusal_reason', 'FULL', 'PER_ADDRESS',
           'NOT_ALLOWED']

#: Why a newcomer is refused (``refusal_reason``), in the order they are checked.
NOT_ALLOWED = 'address not allowed'
FULL = 'room full'
PER_ADDRESS = 'too many from one address'


def parse_networks(specs):
    """``['10.0.0.0/8', '192.168.1.7', ...]`` as ``ipaddress`` networks.

    Each entry may also hold several, comma-separated. Raises ValueError naming the entry
    that is not an address or a network (host bits set, as in ``10.0.0.1/8``, are allowed:
    the network is meant).
    """
    networks = []
    for spec in specs or ():
        for part in spec.split(','):
            part = part.strip()
            if not part:
                continue
            try:
                networks.append(ipaddress.ip_network(part, strict=False))
            except ValueError:
                raise ValueError('%r is not an address or a network such as 10.0.0.0/8'
                                 % part) from None
    return networks


def _address(ip):
    address = ipaddress.ip_address(ip.split('%')[0])   # an IPv6 scope (fe80::1%eth0) aside
    mapped = getattr(address, 'ipv4_mapped', None)     # ::ffff:10.0.0.5 on a dual-stack socket
    return mapped if mapped is not None else address


def is_allowed(ip, allow, deny):
    """Whether ``ip`` may connect: in ``allow`` (when it lists anything) and not in ``deny``.

    ``deny`` wins over ``allow``. An address of another family than a network never
    matches it.
    """
    try:
        address = _address(ip)
    except ValueError:
        return not allow           # not an IP address (a Unix socket?): only if nothing is listed
    if any(address in network for network in deny if network.version == address.version):
        return False
    if not allow:
        return True
    return any(address in network for network in allow if network.version == address.version)


def refusal_reason(ip, online, max_clients, from_this_address, max_per_address, allow, deny):
    """Why a newcomer from ``ip`` cannot join, or None if it can.

    Args:
        online: clients in the room now; ``max_clients`` the room's places.
        from_this_address: clients in the room now from ``ip``; ``max_per_address`` their
            cap (0: none).
        allow, deny: networks from ``parse_networks``.
    """
    if (allow or deny) and not is_allowed(ip, allow, deny):
        return NOT_ALLOWED
    if online >= max_clients:
        return FULL
    if max_per_address and from_this_address >= max_per_address:
        return PER_ADDRESS
    return None
