"""GARP/NA on two segments, against Debian's keepalived 2.2.7 with the same keepalived.conf.

Host ``a`` has eth0 and eth1 on separate bridges (tests/integration/vrrp/syncgroup.py);
host ``b`` only listens, with tcpdump on both segments. One instance on eth0 has VIPs on
eth0 and on eth1 (``dev eth1``) and eVIPs on both (one IPv6); GARPs are paced
(``vrrp_garp_interval 0.2``, ``vrrp_gna_interval 0.35``), with a second burst and a
refresh. keepalived runs first, then our daemon; on each segment the frames must be the
same: which addresses in which order, each from its own interface's MAC (Ethernet source,
ARP sender, NA target link-layer option), at the same offsets from the first frame.

Observed with keepalived in this lab (and in the plan test, tests/unit/vrrp/test_garp_plan.py):
a repeat of an address already waiting for its interface adds no frame, so a burst of
3 rounds gives eth0 A, E(NA), A+0.2, E+0.35, C+0.4 and eth1 B, B+0.2, D+0.4; the refresh
starts ``garp_master_refresh`` after the transition. Offsets from keepalived's start of
a burst vary by about 30 ms (its ``-D`` logging between frames), so the tolerance is 0.1 s.

The second test sends the master one lower-priority advert (from ``b``): keepalived and
ours answer with a paced burst of ``garp_lower_prio_repeat`` rounds and another one
``garp_lower_prio_delay`` later (two VIPs, interval 0.2 s: X, X+0.2, Y+0.4, then +2 s).
"""

from __future__ import annotations

import ipaddress
import itertools
import struct
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.vrrp.support import (  # noqa: F401 - stop_daemons is a fixture
    DaemonProc,
    stop_daemons,
    wait_for,
)
from tests.integration.vrrp.syncgroup import add_internal_segment, internal_net
from tests.lab import Host, Lab, Proc

pytestmark = [pytest.mark.netns, pytest.mark.interop, pytest.mark.usefixtures("stop_daemons")]

WINDOW = 4.9  # seconds after the first frame: bursts at 0 and 2, the refresh at 3
TOLERANCE = 0.1
FILTER = "arp or (icmp6 and ip6[40] == 136)"  # ARP, and neighbour advertisements


@dataclass(frozen=True)
class Frame:
    at: float
    src_mac: str
    address: str  # the announced address
    inner_mac: str  # ARP sender hardware address, or the NA's target link-layer option


def conf(lab: Lab) -> str:
    net1 = internal_net(lab)
    return f"""global_defs {{
    router_id garp
    vrrp_version 3
    vrrp_garp_master_delay 2
    vrrp_garp_master_repeat 3
    vrrp_garp_master_refresh 3
    vrrp_garp_master_refresh_repeat 2
    vrrp_garp_interval 0.2
    vrrp_gna_interval 0.35
}}
vrrp_instance VI {{
    state BACKUP
    interface eth0
    virtual_router_id 61
    priority 150
    advert_int 0.5
    virtual_ipaddress {{
        {lab.vip(100)}/24
        {net1}.100/24 dev eth1
        {lab.vip(101)}/24
    }}
    virtual_ipaddress_excluded {{
        {net1}.101/24 dev eth1
        {lab.vip6(0x101)}/64
    }}
}}
"""


def mac_of(host: Host, ifname: str) -> str:
    return host.run(["cat", f"/sys/class/net/{ifname}/address"]).strip()


def capture(host: Host, ifname: str, path: Path, what: str = FILTER) -> Proc:
    proc = host.popen(["tcpdump", "-n", "-U", "-i", ifname, "-w", str(path), what],
                      description=f"tcpdump {ifname}")  # fmt: skip
    wait_for(lambda: "listening on" in proc.output(), 10, f"tcpdump on {ifname}")
    return proc


def pcap_records(path: Path) -> list[tuple[float, bytes]]:
    """(time, frame) of each record of a pcap file (Ethernet, microsecond timestamps)."""
    data = path.read_bytes()
    out, pos = [], 24
    while pos + 16 <= len(data):
        sec, usec, incl, _ = struct.unpack_from("=IIII", data, pos)
        out.append((sec + usec / 1e6, data[pos + 16 : pos + 16 + incl]))
        pos += 16 + incl
    return out


def read_pcap(path: Path) -> list[Frame]:
    """The GARPs and NAs of a pcap file."""
    return [f for f in (parse(at, raw) for at, raw in pcap_records(path)) if f is not None]


def vrrp_times(path: Path, priority: int) -> list[float]:
    """When IPv4 VRRP adverts with ``priority`` passed."""
    out = []
    for at, raw in pcap_records(path):
        if len(raw) > 34 and raw[12:14] == b"\x08\x00" and raw[23] == 112:
            ihl = (raw[14] & 0x0F) * 4
            if raw[14 + ihl + 2] == priority:
                out.append(at)
    return out


def _mac(raw: bytes) -> str:
    return ":".join(f"{b:02x}" for b in raw)


def parse(at: float, frame: bytes) -> Frame | None:
    src, kind = _mac(frame[6:12]), struct.unpack_from("!H", frame, 12)[0]
    if kind == 0x0806 and len(frame) >= 42:
        arp = frame[14:42]
        return Frame(at, src, ".".join(str(b) for b in arp[14:18]), _mac(arp[8:14]))
    if kind == 0x86DD and len(frame) >= 14 + 40 + 32 and frame[14 + 40] == 136:
        icmp = frame[14 + 40 :]
        address = str(ipaddress.IPv6Address(icmp[8:24]))
        return Frame(at, src, address, _mac(icmp[26:32]))
    return None


def run_and_capture(lab: Lab, start: object, tag: str) -> dict[str, list[Frame]]:
    """Start captures in ``b``, run ``start()``, wait for the window, stop; the frames."""
    b = lab["b"]
    paths = {i: lab.workdir / f"{tag}-{i}.pcap" for i in ("eth0", "eth1")}
    procs = {i: capture(b, i, p) for i, p in paths.items()}
    stop = start()  # type: ignore[operator]
    try:
        wait_for(lambda: any(read_pcap(p) for p in paths.values()), 20, f"{tag}: first GARP")
        time.sleep(WINDOW + 0.5)
    finally:
        stop()
    time.sleep(0.3)
    for proc in procs.values():
        proc.stop()
    frames = {i: read_pcap(p) for i, p in paths.items()}
    t0 = min(f.at for fs in frames.values() for f in fs)
    return {i: [Frame(round(f.at - t0, 4), f.src_mac, f.address, f.inner_mac) for f in fs
                if f.at - t0 <= WINDOW] for i, fs in frames.items()}  # fmt: skip


def test_garps_per_interface_paced_like_keepalived(lab: Lab) -> None:
    a = lab["a"]
    add_internal_segment(lab)
    text = conf(lab)

    def keepalived() -> object:
        proc = a.start_keepalived(text)
        return proc.stop

    def ours() -> object:
        return DaemonProc(a, text).stop

    theirs = run_and_capture(lab, keepalived, "keepalived")
    mine = run_and_capture(lab, ours, "ours")

    macs = {i: mac_of(a, i) for i in ("eth0", "eth1")}
    net1 = internal_net(lab)
    v6 = str(lab.vip6(0x101))
    a_, c_, b_, d_ = lab.vip(100), lab.vip(101), f"{net1}.100", f"{net1}.101"
    burst = {"eth0": [(0.0, a_), (0.0, v6), (0.2, a_), (0.35, v6), (0.4, c_)],
             "eth1": [(0.0, b_), (0.2, b_), (0.4, d_)]}  # fmt: skip
    for ifname in ("eth0", "eth1"):
        plan = [(at + base, ip) for base in (0.0, 2.0, 3.0) for at, ip in burst[ifname]]
        plan.sort(key=lambda x: x[0])
        for who, frames in (("keepalived", theirs[ifname]), ("ours", mine[ifname])):
            # every frame from the interface the address is on, with that interface's MAC
            assert {(f.src_mac, f.inner_mac) for f in frames} == {(macs[ifname],) * 2}, who
            assert sorted(f.address for f in frames) == sorted(ip for _, ip in plan), (
                who, ifname, frames)  # fmt: skip
            for f in frames:  # each frame near a planned frame for its address
                near = [at for at, ip in plan if ip == f.address]
                assert min(abs(f.at - at) for at in near) <= TOLERANCE, (who, ifname, f)
            # the pacing: frames of one kind on one interface never closer than its interval
            for kind, interval in (("garp", 0.2), ("na", 0.35)):
                times = [f.at for f in frames if (":" in f.address) == (kind == "na")]
                gaps = [t2 - t1 for t1, t2 in itertools.pairwise(times)]
                assert all(g >= interval - 0.002 for g in gaps), (who, ifname, kind, gaps)
        # and ours at keepalived's times, address by address
        for address in {f.address for f in theirs[ifname]}:
            t_theirs = [f.at for f in theirs[ifname] if f.address == address]
            t_mine = [f.at for f in mine[ifname] if f.address == address]
            assert len(t_mine) == len(t_theirs), (ifname, address)
            assert all(abs(x - y) <= TOLERANCE for x, y in zip(t_mine, t_theirs, strict=True)), (
                ifname, address, t_mine, t_theirs)  # fmt: skip


LOWER_CONF = """global_defs {{
    router_id garp
    vrrp_garp_master_delay 0
    vrrp_garp_master_repeat 1
    vrrp_garp_interval 0.2
}}
vrrp_instance VI {{
    state MASTER
    interface eth0
    virtual_router_id 62
    priority 200
    advert_int 1
    garp_lower_prio_delay 2
    garp_lower_prio_repeat 2
    virtual_ipaddress {{
        {a}/24
        {b}/24
    }}
}}
"""


def inject_lower(host: Host, addresses: tuple[str, ...]) -> None:
    """Send one VRRPv2 advert for VRID 62 with priority 50 from ``host``."""
    from pykeepalived.actors.vrrp import packet as P

    adv = P.Advert(version=2, vrid=62, priority=50, addresses=addresses)
    data = P.encode_vrrp(adv, "inet").hex()
    code = (
        "import socket, time\n"
        "s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 112)\n"
        "s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)\n"
        "s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF,"
        f" socket.inet_aton('{host.ipv4}'))\n"
        f"s.sendto(bytes.fromhex('{data}'), ('224.0.0.18', 0))\n"
    )
    host.run(["python3", "-c", code])


def lower_run(lab: Lab, start: object, tag: str) -> list[Frame]:
    """The GARPs from 0.5 s before to 3 s after a lower-priority advert, times from it."""
    a, b = lab["a"], lab["b"]
    path = lab.workdir / f"{tag}-lower.pcap"
    proc = capture(b, "eth0", path, f"{FILTER} or ip proto 112")
    stop = start()  # type: ignore[operator]
    try:
        wait_for(lambda: len(read_pcap(path)) >= 2, 20, f"{tag}: the master's GARPs")
        time.sleep(1.0)
        inject_lower(b, (lab.vip(110), lab.vip(111)))
        time.sleep(3.0)
    finally:
        stop()
    time.sleep(0.3)
    proc.stop()
    assert all(f.src_mac == mac_of(a, "eth0") for f in read_pcap(path))
    (sent,) = vrrp_times(path, 50)
    return [Frame(round(f.at - sent, 4), f.src_mac, f.address, f.inner_mac)
            for f in read_pcap(path) if f.at > sent - 0.5]  # fmt: skip


def test_a_lower_priority_advert_gives_keepalived_s_paced_bursts(lab: Lab) -> None:
    """keepalived 2.2.7: a burst of garp_lower_prio_repeat rounds at once (paced), and
    another garp_lower_prio_delay later; ours the same."""
    a = lab["a"]
    text = LOWER_CONF.format(a=lab.vip(110), b=lab.vip(111))

    def keepalived() -> object:
        return a.start_keepalived(text).stop

    def ours() -> object:
        return DaemonProc(a, text).stop

    x, y = lab.vip(110), lab.vip(111)
    plan = [(0.0, x), (0.2, x), (0.4, y), (2.0, x), (2.2, x), (2.4, y)]
    for who, frames in (("keepalived", lower_run(lab, keepalived, "keepalived")),
                        ("ours", lower_run(lab, ours, "ours"))):  # fmt: skip
        assert [f.address for f in frames] == [ip for _, ip in plan], (who, frames)
        assert all(abs(f.at - at) <= TOLERANCE for f, (at, _) in zip(frames, plan, strict=True)), (
            who, frames)  # fmt: skip
