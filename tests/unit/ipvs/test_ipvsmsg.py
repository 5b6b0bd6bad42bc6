"""IPVS generic-netlink messages encoded and decoded offline (pyroute2's ipvsmsg)."""

from __future__ import annotations

import socket

import pytest
from pyroute2 import IPVSDest, IPVSService
from pyroute2.netlink.generic import ipvs as gipvs

from pykeepalived.actors.ipvs.driver import (
    SyncDaemonConfig,
    _ipvs_extra_msg,
    daemon_msg,
    dest_fields,
    dest_from_msg,
    service_fields,
    service_from_msg,
    stats_from_msg,
    timeouts_msg,
)
from pykeepalived.actors.ipvs.model import service_attrs
from pykeepalived.actors.ipvs.rules import DestAttrs, DestId, Method, ServiceAttrs, ServiceId


def roundtrip(msg, cls=gipvs.ipvsmsg):  # type: ignore[no-untyped-def]
    msg["header"]["type"] = 0x20
    msg.encode()
    back = cls(msg.data)
    back.decode()
    return back


def service_msg(sid: ServiceId, attrs: ServiceAttrs):  # type: ignore[no-untyped-def]
    msg = gipvs.ipvsmsg()
    msg["cmd"] = gipvs.IPVS_CMD_NEW_SERVICE
    msg["version"] = gipvs.GENL_VERSION
    msg["attrs"] = [("IPVS_CMD_ATTR_SERVICE", IPVSService(**service_fields(sid, attrs)).dump_nla())]
    return msg


@pytest.mark.parametrize(
    ("sid", "attrs"),
    [
        (ServiceId("inet", "tcp", "10.0.0.1", 80), service_attrs("wrr")),
        (
            ServiceId("inet", "udp", "10.0.0.1", 53),
            service_attrs(
                "sh",
                persistence_timeout=300,
                persistence_granularity="255.255.255.0",
                ops=True,
                sched_flags=("sh-port",),
            ),
        ),
        (
            ServiceId("inet6", "tcp", "2001:db8::1", 443),
            service_attrs("lc", persistence_timeout=60, persistence_granularity="64"),
        ),
        (ServiceId("inet", "sctp", fwmark=7), service_attrs("mh")),
    ],
)
def test_service_roundtrip(sid: ServiceId, attrs: ServiceAttrs) -> None:
    back = roundtrip(service_msg(sid, attrs))
    assert back["cmd"] == gipvs.IPVS_CMD_NEW_SERVICE
    assert service_from_msg(back) == (sid, attrs)


def test_ipv6_persistence_prefix_is_sent_as_host_u32() -> None:
    sid = ServiceId("inet6", "tcp", "2001:db8::1", 443)
    back = roundtrip(service_msg(sid, service_attrs("rr", persistence_granularity="48")))
    raw = back.get_attr("IPVS_CMD_ATTR_SERVICE").get_attr("IPVS_SVC_ATTR_NETMASK")
    assert int.from_bytes(socket.inet_aton(raw), "little") == 48


@pytest.mark.parametrize(
    ("did", "attrs"),
    [
        (DestId("10.1.0.1", 8080), DestAttrs(3, Method.NAT)),
        (DestId("10.1.0.2", 80), DestAttrs(0, Method.DR)),
        (
            DestId("2001:db8::5", 80),
            DestAttrs(1, Method.TUN, tun_type=1, tun_port=6080, tun_flags=1),
        ),
    ],
)
def test_dest_roundtrip(did: DestId, attrs: DestAttrs) -> None:
    msg = gipvs.ipvsmsg()
    msg["cmd"] = gipvs.IPVS_CMD_NEW_DEST
    msg["version"] = gipvs.GENL_VERSION
    svc = IPVSService(**service_fields(ServiceId("inet", "tcp", "10.0.0.1", 80)))
    msg["attrs"] = [
        ("IPVS_CMD_ATTR_SERVICE", svc.dump_key()),
        ("IPVS_CMD_ATTR_DEST", IPVSDest(**dest_fields(did, attrs)).dump_nla()),
    ]
    back = roundtrip(msg)
    assert dest_from_msg(back) == (did, attrs)
    # the key sent with a destination names the service, never its scheduler
    keys = [k for k, _ in back.get_attr("IPVS_CMD_ATTR_SERVICE")["attrs"]]
    assert "IPVS_SVC_ATTR_SCHED_NAME" not in keys and "IPVS_SVC_ATTR_PORT" in keys


def test_timeouts_message() -> None:
    back = roundtrip(timeouts_msg(900, 120, None), _ipvs_extra_msg())
    assert back["cmd"] == gipvs.IPVS_CMD_SET_CONFIG
    assert back.get_attr("IPVS_CMD_ATTR_TIMEOUT_TCP") == 900
    assert back.get_attr("IPVS_CMD_ATTR_TIMEOUT_TCP_FIN") == 120
    assert back.get_attr("IPVS_CMD_ATTR_TIMEOUT_UDP") == 0  # 0 = unchanged


def test_sync_daemon_messages() -> None:
    cfg = SyncDaemonConfig("eth1", 51, maxlen=1400, port=8848, ttl=2, group="239.1.1.1")
    back = roundtrip(daemon_msg(True, "master", cfg), _ipvs_extra_msg())
    assert back["cmd"] == gipvs.IPVS_CMD_NEW_DAEMON
    daemon = back.get_attr("IPVS_CMD_ATTR_DAEMON")
    assert daemon.get_attr("IPVS_DAEMON_ATTR_STATE") == 1
    assert daemon.get_attr("IPVS_DAEMON_ATTR_MCAST_IFN") == "eth1"
    assert daemon.get_attr("IPVS_DAEMON_ATTR_SYNC_ID") == 51
    assert daemon.get_attr("IPVS_DAEMON_ATTR_SYNC_MAXLEN") == 1400
    assert daemon.get_attr("IPVS_DAEMON_ATTR_MCAST_GROUP") == "239.1.1.1"
    assert daemon.get_attr("IPVS_DAEMON_ATTR_MCAST_PORT") == 8848
    assert daemon.get_attr("IPVS_DAEMON_ATTR_MCAST_TTL") == 2
    stop = roundtrip(daemon_msg(False, "backup", cfg), _ipvs_extra_msg())
    assert stop["cmd"] == gipvs.IPVS_CMD_DEL_DAEMON
    assert stop.get_attr("IPVS_CMD_ATTR_DAEMON").get_attr("IPVS_DAEMON_ATTR_STATE") == 2
    assert stop.get_attr("IPVS_CMD_ATTR_DAEMON").get_attr("IPVS_DAEMON_ATTR_MCAST_IFN") is None


def test_stats_read_from_service_and_dest_replies() -> None:
    """The kernel's counters as a dump reply carries them (64-bit, else 32-bit)."""
    sid = ServiceId("inet", "tcp", "10.0.0.1", 80)
    msg = service_msg(sid, service_attrs("rr"))
    counters = [("IPVS_STATS_ATTR_CONNS", 7), ("IPVS_STATS_ATTR_INPKTS", 70),
                ("IPVS_STATS_ATTR_OUTPKTS", 60), ("IPVS_STATS_ATTR_INBYTES", 5 << 32),
                ("IPVS_STATS_ATTR_OUTBYTES", 9000)]  # fmt: skip
    svc_attrs = msg["attrs"][0][1]
    svc_attrs["attrs"].append(("IPVS_SVC_ATTR_STATS64", {"attrs": counters}))
    back = roundtrip(msg)
    assert stats_from_msg(back, "IPVS_CMD_ATTR_SERVICE", "IPVS_SVC_ATTR") == {
        "connections": 7, "packets_in": 70, "packets_out": 60, "bytes_in": 5 << 32,
        "bytes_out": 9000,
    }  # fmt: skip
    dmsg = gipvs.ipvsmsg()
    dmsg["cmd"] = gipvs.IPVS_CMD_NEW_DEST
    dmsg["version"] = gipvs.GENL_VERSION
    dest = IPVSDest(**dest_fields(DestId("10.1.0.1", 8080), DestAttrs(1))).dump_nla()
    dest["attrs"].append(("IPVS_DEST_ATTR_STATS", {"attrs": counters[:1]}))
    dmsg["attrs"] = [("IPVS_CMD_ATTR_DEST", dest)]
    back = roundtrip(dmsg)
    got = stats_from_msg(back, "IPVS_CMD_ATTR_DEST", "IPVS_DEST_ATTR")
    assert got["connections"] == 7 and got["bytes_out"] == 0
    assert stats_from_msg(roundtrip(service_msg(sid, service_attrs("rr"))),
                          "IPVS_CMD_ATTR_SERVICE", "IPVS_SVC_ATTR") == {}  # fmt: skip
