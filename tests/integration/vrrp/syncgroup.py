"""An LVS-NAT-like lab for sync groups: two directors on an external and an internal segment.

``add_internal_segment`` gives every host of a :class:`~tests.lab.Lab` a second veth
(``eth1``) on a second bridge in the lab's switch namespace (deleted with the lab's
namespaces). ``sync_conf`` is the keepalived.conf both our daemon and Debian's keepalived
read: ``VI_EXT`` on eth0, ``VI_INT`` on eth1, both in ``vrrp_sync_group G``, every
notification written to a FIFO (``fifo_lines`` reads what a ``cat`` wrote out of it).
"""

from __future__ import annotations

import os
from pathlib import Path

from tests.lab import Host, Lab, Proc, sh

INTERNAL_BRIDGE = "br1"


def internal_net(lab: Lab) -> str:
    """The internal segment's /24 prefix (first three octets), unique per lab."""
    return f"10.{lab._k}.{(lab._n + 128) % 256}"


def add_internal_segment(lab: Lab) -> None:
    sh(["ip", "-n", lab.switch, "link", "add", INTERNAL_BRIDGE, "type", "bridge"])
    sh(["ip", "-n", lab.switch, "link", "set", INTERNAL_BRIDGE, "type", "bridge",
        "forward_delay", "0", "stp_state", "0"])  # fmt: skip
    sh(["ip", "-n", lab.switch, "link", "set", INTERNAL_BRIDGE, "up"])
    for host in lab.hosts.values():
        peer = f"w{lab.id}{host.name}"[:15]
        sh(["ip", "link", "add", peer, "netns", lab.switch, "type", "veth",
            "peer", "name", "eth1", "netns", host.netns])  # fmt: skip
        sh(["ip", "-n", lab.switch, "link", "set", peer, "master", INTERNAL_BRIDGE, "up"])
        sh(["ip", "-n", host.netns, "addr", "add", f"{internal_net(lab)}.{host.index}/24",
            "dev", "eth1"])  # fmt: skip
        sh(["ip", "-n", host.netns, "link", "set", "eth1", "up"])


def vips(lab: Lab) -> tuple[str, str]:
    """(external VIP, internal VIP)."""
    return lab.vip(100), f"{internal_net(lab)}.100"


def start_fifo_reader(host: Host, tag: str) -> tuple[Path, Proc]:
    """A FIFO for ``notify_fifo`` and a ``cat`` copying its lines to a file."""
    fifo = host.lab.workdir / f"{host.name}-{tag}.fifo"
    out = host.lab.workdir / f"{host.name}-{tag}.lines"
    os.mkfifo(fifo)
    proc = host.popen(["sh", "-c", f"exec cat {fifo} > {out}"], description="fifo reader")
    return fifo, proc


def fifo_lines(host: Host, tag: str) -> list[str]:
    try:
        text = (host.lab.workdir / f"{host.name}-{tag}.lines").read_text()
    except FileNotFoundError:
        return []
    return [line for line in text.splitlines() if line.strip()]


def notify_script(host: Host) -> tuple[Path, Path]:
    """(script, its output): the script appends its arguments as one line."""
    out = host.lab.workdir / f"{host.name}-group-notify.lines"
    script = host.lab.workdir / f"{host.name}-group-notify.sh"
    script.write_text(f'#!/bin/sh\necho "$*" >> {out}\n')
    script.chmod(0o755)
    return script, out


def sync_conf(
    lab: Lab,
    priority: int,
    fifo: Path,
    *,
    advert_int: float = 0.5,
    notify: Path | None = None,
    extra: str = "",
) -> str:
    """``extra``: lines for both instances (e.g. ``nopreempt``)."""
    ext, internal = vips(lab)
    scripts = ""
    if notify is not None:
        scripts = (
            "".join(
                f'    notify_{s.lower()} "{notify} notify_{s.lower()}"\n'
                for s in ("MASTER", "BACKUP", "FAULT", "STOP")
            )
            + f"    notify {notify}\n"
        )
    return f"""global_defs {{
    router_id director{priority}
    vrrp_version 3
    vrrp_garp_master_delay 0
    vrrp_garp_master_repeat 1
    notify_fifo {fifo}
}}
vrrp_sync_group G {{
    group {{
        VI_EXT
        VI_INT
    }}
{scripts}}}
vrrp_instance VI_EXT {{
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority {priority}
    advert_int {advert_int}
{extra}
    virtual_ipaddress {{
        {ext}/24
    }}
}}
vrrp_instance VI_INT {{
    state BACKUP
    interface eth1
    virtual_router_id 52
    priority {priority}
    advert_int {advert_int}
{extra}
    virtual_ipaddress {{
        {internal}/24
    }}
}}
"""


def has_addr(host: Host, ifname: str, address: str) -> bool:
    return any(a.split("/")[0] == address for a in host.addresses(ifname))


def holds_both(host: Host, lab: Lab) -> bool:
    ext, internal = vips(lab)
    return has_addr(host, "eth0", ext) and has_addr(host, "eth1", internal)


def holds_none(host: Host, lab: Lab) -> bool:
    ext, internal = vips(lab)
    return not has_addr(host, "eth0", ext) and not has_addr(host, "eth1", internal)
