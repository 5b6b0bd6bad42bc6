"""Re-capture the golden VRRP packets from Debian's keepalived (run as root: python -m ...).

Each case starts keepalived in host ``a`` of a two-host lab, captures IP protocol 112/51
on host ``b`` (or on ``a``'s veth for unicast) with tcpdump, and stores the first few IP
packets (Ethernet stripped) as hex lines in ``<case>.hex``. Lines starting with ``#`` carry
the facts a test needs (source, destination, password). Run from the repo root:

    .venv/bin/python -m tests.data.packets.capture
"""

from __future__ import annotations

import struct
import sys
import time
from pathlib import Path

from tests.lab import Lab

HERE = Path(__file__).parent


def _conf(lab: Lab, version: int, extra: str, vip: str, vrid: int) -> str:
    return f"""global_defs {{
    router_id golden
    vrrp_version {version}
}}
vrrp_instance VI_1 {{
    state MASTER
    interface eth0
    virtual_router_id {vrid}
    priority 100
    advert_int 1
{extra}
    virtual_ipaddress {{
        {vip}
    }}
}}
"""


def _pcap_packets(path: Path) -> list[bytes]:
    data = path.read_bytes()
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    out, off = [], 24
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack(endian + "IIII", data[off : off + 16])
        frame = data[off + 16 : off + 16 + incl]
        off += 16 + incl
        if linktype == 1:  # Ethernet
            ethertype = struct.unpack("!H", frame[12:14])[0]
            if ethertype in (0x0800, 0x86DD):
                out.append(frame[14:])
        elif linktype == 113:  # Linux cooked
            out.append(frame[16:])
    return out


CASES = [
    # name, version, extra config, use IPv6 VIP, unicast, vrid
    ("v2_mcast", 2, "", False, False, 51),
    ("v3_mcast4", 3, "", False, False, 51),
    ("v3_mcast6", 3, "", True, False, 52),
    (
        "v2_pass",
        2,
        "    authentication {\n auth_type PASS\n auth_pass secret12\n }",
        False,
        False,
        53,
    ),
    ("v2_ah", 2, "    authentication {\n auth_type AH\n auth_pass s3cret\n }", False, False, 54),
    ("v2_unicast", 2, "", False, True, 55),
    ("v3_unicast4", 3, "", False, True, 56),
]


def capture_case(name: str, version: int, extra: str, v6: bool, unicast: bool, vrid: int) -> None:
    with Lab(("a", "b")) as lab:
        a, b = lab["a"], lab["b"]
        vip = f"{lab.vip6(0x100)}/64" if v6 else f"{lab.vip(100)}/24"
        if unicast:
            extra += f"\n    unicast_src_ip {a.ipv4}\n    unicast_peer {{\n        {b.ipv4}\n    }}"
        pcap = lab.workdir / f"{name}.pcap"
        flt = "ip proto 112 or ip proto 51 or ip6 proto 112"
        dump = b.popen(["tcpdump", "-i", "eth0", "-nn", "-U", "-w", str(pcap), flt])
        time.sleep(1.0)
        ka = a.start_keepalived(_conf(lab, version, extra, vip, vrid), "-P")
        time.sleep(6.2)
        ka.stop()  # the last packet is the priority-0 advert
        time.sleep(0.5)
        dump.stop()
        pkts = _pcap_packets(pcap)
        if not pkts:
            print(name, "NO PACKETS", ka.output(), file=sys.stderr)
            return
        lines = [
            f"# golden packets from Debian keepalived 2.2.7, case {name}",
            f"# src4 {a.ipv4} src6-linklocal see packet, peer {b.ipv4}",
            "# auth_pass " + ("secret12" if "pass" in name else "s3cret" if "ah" in name else "-"),
        ]
        lines += [p.hex() for p in pkts]
        (HERE / f"{name}.hex").write_text("\n".join(lines) + "\n")
        print(name, len(pkts), "packets")


def main() -> None:
    for case in CASES:
        capture_case(*case)


if __name__ == "__main__":
    main()
