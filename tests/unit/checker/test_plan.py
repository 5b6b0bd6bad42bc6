"""From the config model to checks, names on the bus, and reloads as a difference."""

from __future__ import annotations

import dataclasses

from pykeepalived.actors.checker.plan import CheckKey, diff, plan
from pykeepalived.conf import model as m


def config(*real_servers: m.RealServer, **vs_kw: object) -> m.Config:
    vs = m.VirtualServer(address="10.0.0.100", port=80, real_servers=real_servers, **vs_kw)
    return m.Config(virtual_servers=(vs,))


def rs(addr: str, *checkers: object, **kw: object) -> m.RealServer:
    return m.RealServer(address=addr, port=8080, checkers=checkers, **kw)  # type: ignore[arg-type]


def test_names_and_targets() -> None:
    cfg = config(
        rs("10.0.0.1", m.TcpCheck(connect_timeout=2, retry=0, delay_loop=1, warmup=0),
           m.TcpCheck(connect_port=22), m.HttpGetCheck(connect_ip="10.9.9.9")),
        rs("10.0.0.2"),
        protocol=m.Protocol.TCP,
    )  # fmt: skip
    p = plan(cfg)
    keys = sorted(p.checks)
    assert [k.checker for k in keys] == ["HTTP_GET", "TCP_CHECK#1", "TCP_CHECK#2"]
    first = p.checks[CheckKey("10.0.0.100:80", "tcp", "10.0.0.1:8080", "TCP_CHECK#1")]
    assert first.target.host == "10.0.0.1" and first.target.port == 8080
    assert first.target.connect_timeout == 2 and first.timing.retry == 0
    second = p.checks[CheckKey("10.0.0.100:80", "tcp", "10.0.0.1:8080", "TCP_CHECK#2")]
    assert second.target.port == 22
    http = p.checks[CheckKey("10.0.0.100:80", "tcp", "10.0.0.1:8080", "HTTP_GET")]
    assert http.target.host == "10.9.9.9" and http.timing.delay_before_retry == 3.0


def test_bfd_is_skipped_with_a_reason_and_file_check_never_retries() -> None:
    cfg = config(rs("10.0.0.1", m.BfdCheck(name="b1"), m.FileCheck(track_file="t", retry=5)))
    p = plan(cfg)
    assert len(p.checks) == 1 and "BFD_CHECK is not supported" in p.skipped[0]
    (spec,) = p.checks.values()
    assert spec.timing.retry == 0 and spec.timing.warmup == 0


def test_ipv6_and_global_log_all_failures() -> None:
    vs = m.VirtualServer(address="2001:db8::100", port=443, protocol=m.Protocol.TCP,
                         real_servers=(m.RealServer(address="2001:db8::1", port=443,
                                                    checkers=(m.TcpCheck(),)),))  # fmt: skip
    cfg = m.Config(virtual_servers=(vs,),
                   global_defs=m.GlobalDefs(checker_log_all_failures=True))  # fmt: skip
    (spec,) = plan(cfg).checks.values()
    assert spec.key.virtual_server == "[2001:db8::100]:443"
    assert spec.key.real_server == "[2001:db8::1]:443"
    assert spec.target.is_v6 and spec.timing.log_all_failures


def test_diff_kept_changed_added_removed() -> None:
    a = rs("10.0.0.1", m.TcpCheck(file="x.conf", line=3))
    b = rs("10.0.0.2", m.TcpCheck())
    old = plan(config(a, b)).checks
    moved = rs("10.0.0.1", m.TcpCheck(file="x.conf", line=9))  # only its line moved
    b2 = rs("10.0.0.2", m.TcpCheck(connect_timeout=1))
    c = rs("10.0.0.3", m.TcpCheck())
    new = plan(config(moved, b2, c)).checks
    d = diff(old, new)
    assert [k.real_server for k in d.kept] == ["10.0.0.1:8080"]
    assert [k.real_server for k in d.changed] == ["10.0.0.2:8080"]
    assert [k.real_server for k in d.added] == ["10.0.0.3:8080"]
    assert d.removed == []
    d2 = diff(new, old)
    assert [k.real_server for k in d2.removed] == ["10.0.0.3:8080"]


def test_weight_change_of_the_real_server_is_a_change() -> None:
    old = plan(config(rs("10.0.0.1", m.TcpCheck()))).checks
    new = plan(config(dataclasses.replace(rs("10.0.0.1", m.TcpCheck()), weight=5))).checks
    assert len(diff(old, new).changed) == 1
