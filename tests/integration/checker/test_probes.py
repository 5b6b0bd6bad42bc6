"""Every probe against real servers on loopback: the up path, the down path, each
misbehaving server (hang, reset, garbage, endless body, bad certificate), with its reason."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
import os
import socket
import sys
import time
from collections import Counter
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import pytest

from pykeepalived.actors.checker import http as httpcodec
from pykeepalived.actors.checker import wire
from pykeepalived.actors.checker.plan import Target
from pykeepalived.actors.checker.probes_net import DnsProbe, PingProbe, TcpProbe, UdpProbe
from pykeepalived.actors.checker.probes_proc import FileProbe, MiscProbe
from pykeepalived.actors.checker.probes_stream import (
    HttpProbe,
    PlainHttpProbe,
    SmtpProbe,
    UrlCheck,
    tls_context,
)
from pykeepalived.actors.scripts import Defaults, ScriptRunner, vet
from tests.integration.checker import servers
from tests.integration.checker.servers import Certs, HttpServer, outcome_of


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(coro)


def target(port: int, timeout: float = 1.0, **kw: Any) -> Target:
    return Target(host="127.0.0.1", port=port, connect_timeout=timeout, **kw)


@pytest.fixture(scope="module")
def tls_certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return servers.certs(tmp_path_factory.mktemp("certs"))


# ---- TCP_CHECK ------------------------------------------------------------------------------
def test_tcp_up_and_refused() -> None:
    async def main() -> None:
        srv = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
        port = srv.sockets[0].getsockname()[1]
        loop = asyncio.get_running_loop()
        up = await outcome_of(TcpProbe(loop, target(port)))
        srv.close()
        await srv.wait_closed()
        down = await outcome_of(TcpProbe(loop, target(port)))
        assert up.ok and "succeeded" in up.reason
        assert not down.ok and down.reason == "connection refused"

    run(main())


def test_tcp_connect_timeout_when_the_backlog_is_full() -> None:
    """A listener that never accepts, with its queue full: SYNs are dropped, connect hangs."""

    async def main() -> None:
        lst = socket.socket()
        lst.bind(("127.0.0.1", 0))
        lst.listen(0)
        port = lst.getsockname()[1]
        fillers = []
        for _ in range(3):  # fill the accept queue (backlog 0 admits one or two)
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", port))
            fillers.append(s)
        await asyncio.sleep(0.1)
        loop = asyncio.get_running_loop()
        t0 = time.monotonic()
        out = await outcome_of(TcpProbe(loop, target(port, timeout=0.5)))
        took = time.monotonic() - t0
        for s in fillers:
            s.close()
        lst.close()
        assert not out.ok and "timed out after 0.5 s" in out.reason
        assert 0.4 < took < 3.0

    run(main())


def test_tcp_bindto_and_fwmark_and_bad_source() -> None:
    async def main() -> None:
        seen: list[str] = []

        async def on_conn(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            seen.append(w.get_extra_info("peername")[0])
            w.close()

        srv = await asyncio.start_server(on_conn, "127.0.0.1", 0)
        port = srv.sockets[0].getsockname()[1]
        loop = asyncio.get_running_loop()
        mark = {"fwmark": 7} if os.geteuid() == 0 else {}
        out = await outcome_of(TcpProbe(loop, target(port, bindto="127.0.0.9", **mark)))
        await asyncio.sleep(0.05)
        bad = await outcome_of(TcpProbe(loop, target(port, bindto="192.0.2.77")))
        srv.close()
        assert out.ok and seen == ["127.0.0.9"]
        assert not bad.ok and "source address not available" in bad.reason

    run(main())


# ---- HTTP_GET / SSL_GET --------------------------------------------------------------------
def url(path: str = "/", **kw: Any) -> UrlCheck:
    rule = httpcodec.UrlRule(path=path, **kw)
    return UrlCheck(rule, httpcodec.compile_regex(rule), "rs.test")


async def http_outcome(
    srv: HttpServer, *urls: UrlCheck, timeout: float = 1.0, plain: bool = False, **kw: Any
) -> Any:
    """One HTTP attempt: ``plain`` picks the callback probe (plain HTTP in the actor),
    else the asyncio-streams probe (SSL_GET, genhash); both must give the same answers."""
    loop = asyncio.get_running_loop()
    await srv.start()
    try:
        if plain:
            probe: Any = PlainHttpProbe(loop, target(srv.port, timeout), urls, **kw)
        else:
            probe = HttpProbe(loop, target(srv.port, timeout), urls, **kw)
        return await outcome_of(probe)
    finally:
        await srv.close()


@pytest.fixture(params=[False, True], ids=["streams", "callback"])
def plain(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


def test_http_up_with_digest_regex_and_status() -> None:
    body = b"<html>service OK</html>"
    digest = hashlib.md5(body).hexdigest()
    srv = HttpServer(body=body)
    out = run(http_outcome(srv, url("/a", digest=digest), url("/b", regex="service (OK|fine)"),
                           protocol="1.1"))  # fmt: skip
    assert out.ok, out.reason
    assert srv.requests[0].startswith(b"GET /a HTTP/1.1") and b"Host: rs.test" in srv.requests[0]
    assert len(srv.requests) == 2


@pytest.mark.parametrize(
    ("server", "rule", "reason"),
    [
        (HttpServer(status=503), {}, "HTTP status 503 for / not accepted"),
        (HttpServer(status=302), {"status_codes": ((200, 200), (300, 399))}, None),
        (HttpServer(body=b"changed"), {"digest": "0" * 32}, "MD5 digest mismatch"),
        (HttpServer(body=b"DOWN"), {"regex": "UP"}, "did not match"),
        (HttpServer(mode="chunked", body=b"chunked body OK"), {"regex": "body OK$"}, None),
    ],
)
def test_http_verdicts(
    server: HttpServer, rule: dict[str, Any], reason: str | None, plain: bool
) -> None:
    server = dataclasses.replace(server, requests=[], sni_seen=[])
    out = run(http_outcome(server, url("/", **rule), protocol="1.1", plain=plain))
    if reason is None:
        assert out.ok, out.reason
    else:
        assert not out.ok and reason in out.reason


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("hang", "timed out after 0.6 s (waiting for the response)"),
        ("hang_before_request", "timed out after 0.6 s (waiting for the response)"),
        ("reset", "connection reset by peer"),
        ("garbage", "not an HTTP response"),
        ("endless", "body larger than 4194304 bytes"),
        ("trickle", "timed out after 0.6 s"),
        ("truncated", "connection closed in the body after 5 bytes"),
    ],
)
def test_http_misbehaving_servers_are_down_with_their_reason(
    mode: str, reason: str, plain: bool
) -> None:
    t0 = time.monotonic()
    out = run(http_outcome(HttpServer(mode=mode), url(), timeout=0.6, plain=plain))
    assert not out.ok
    assert reason in out.reason
    assert time.monotonic() - t0 < 5


def test_http_refused(plain: bool) -> None:
    async def main() -> Any:
        loop = asyncio.get_running_loop()
        cls = PlainHttpProbe if plain else HttpProbe
        return await outcome_of(cls(loop, target(servers.free_port()), (url(),)))

    out = run(main())
    assert not out.ok and "connection refused (connect)" in out.reason


def test_ssl_get_with_verification_and_sni(tls_certs: Certs) -> None:
    srv = HttpServer(tls=tls_certs.server_context())
    ctx = tls_context(ca=str(tls_certs.ca))
    out = run(http_outcome(srv, url(), tls=ctx, sni="rs.test"))
    assert out.ok, out.reason
    assert srv.sni_seen == ["rs.test"]


def test_ssl_get_without_ca_does_not_verify_and_sends_no_sni(tls_certs: Certs) -> None:
    srv = HttpServer(tls=tls_certs.server_context())
    out = run(http_outcome(srv, url(), tls=tls_context(), tls_compliant=True))
    assert out.ok, out.reason
    assert srv.sni_seen == [None]


def test_ssl_get_bad_certificate_is_down(tls_certs: Certs) -> None:
    srv = HttpServer(tls=tls_certs.server_context())
    out = run(http_outcome(srv, url(), tls=tls_context(ca=str(tls_certs.other_ca))))
    assert not out.ok and "TLS certificate verification failed" in out.reason


def test_ssl_get_against_plain_http_is_down() -> None:
    out = run(http_outcome(HttpServer(), url(), tls=tls_context()))
    assert not out.ok and "TLS" in out.reason


def test_client_certificate_is_loaded(tls_certs: Certs) -> None:
    ctx = tls_context(ca=str(tls_certs.ca), certificate=str(tls_certs.cert),
                      key=str(tls_certs.key))  # fmt: skip
    out = run(http_outcome(HttpServer(tls=tls_certs.server_context()), url(), tls=ctx))
    assert out.ok, out.reason


# ---- SMTP_CHECK ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("mode", "ok", "reason"),
    [
        ("ok", True, "completed"),
        ("busy", False, "SMTP greeting 554"),
        ("hang", False, "timed out after 0.5 s (waiting for the greeting)"),
        ("garbage", False, "not an SMTP reply line"),
    ],
)
def test_smtp(mode: str, ok: bool, reason: str) -> None:
    async def main() -> Any:
        helo: list[str] = []
        srv = await servers.smtp_server(mode, helo)
        port = srv.sockets[0].getsockname()[1]
        loop = asyncio.get_running_loop()
        out = await outcome_of(SmtpProbe(loop, target(port, 0.5), "checker.test"))
        srv.close()
        return out, helo

    out, helo = run(main())
    assert out.ok is ok and reason in out.reason
    if ok:
        assert helo == ["HELO checker.test"]


def test_smtp_two_hosts_each_judged() -> None:
    async def main() -> Any:
        good = await servers.smtp_server("ok", [])
        loop = asyncio.get_running_loop()
        a = await outcome_of(SmtpProbe(loop, target(good.sockets[0].getsockname()[1]), "h"))
        b = await outcome_of(SmtpProbe(loop, target(servers.free_port()), "h"))
        good.close()
        return a, b

    a, b = run(main())
    assert a.ok and not b.ok and "refused" in b.reason


# ---- DNS_CHECK ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("mode", "name", "ok", "reason"),
    [
        ("ok", "ok.test", True, "1 answer"),
        ("ok", "missing.test", False, "NXDOMAIN"),
        ("servfail", "ok.test", False, "SERVFAIL"),
        ("garbage", "ok.test", False, "malformed DNS reply"),
        ("silent", "ok.test", False, "no DNS reply within 0.4 s"),
    ],
)
def test_dns(mode: str, name: str, ok: bool, reason: str) -> None:
    async def main() -> Any:
        proto = servers.DnsServer(mode)
        tr, port = await servers.udp_server(proto)
        loop = asyncio.get_running_loop()
        out = await outcome_of(DnsProbe(loop, target(port, 0.4), name, 1))
        tr.close()
        return out

    out = run(main())
    assert out.ok is ok and reason in out.reason


def test_dns_closed_port_is_down() -> None:
    async def main() -> Any:
        loop = asyncio.get_running_loop()
        port = servers.free_port(socket.SOCK_DGRAM)
        return await outcome_of(DnsProbe(loop, target(port, 0.5), "ok.test", 1))

    out = run(main())
    assert not out.ok and out.reason == "ICMP port unreachable"


# ---- UDP_CHECK ------------------------------------------------------------------------------
def test_udp_cases() -> None:
    async def main() -> list[Any]:
        loop = asyncio.get_running_loop()
        echo = servers.UdpEcho(reply=b"PONG-1")
        tr, port = await servers.udp_server(echo)
        silent = servers.UdpEcho(silent=True)
        tr2, sport = await servers.udp_server(silent)
        closed = servers.free_port(socket.SOCK_DGRAM)
        pat = wire.ReplyPattern.parse("50 4f 4e 47")  # "PONG"
        bad = wire.ReplyPattern.parse("5x 4x 5x")
        res = [
            await outcome_of(UdpProbe(loop, target(port, 0.4), b"PING", True, pat)),
            await outcome_of(UdpProbe(loop, target(port, 0.4), b"PING", True, bad)),
            await outcome_of(UdpProbe(loop, target(port, 0.4), b"PING", True, None, 10)),
            await outcome_of(UdpProbe(loop, target(sport, 0.4), None, False, None)),
            await outcome_of(UdpProbe(loop, target(sport, 0.4), b"x", True, None)),
            await outcome_of(UdpProbe(loop, target(closed, 0.4), b"x", False, None)),
        ]
        tr.close()
        tr2.close()
        assert echo.seen[0] == b"PING" and len(silent.seen[0]) == 16  # random payload
        return res

    ok, nomatch, short, quiet, noreply, refused = run(main())
    assert ok.ok and "matches" in ok.reason
    assert not nomatch.ok and "require_reply" in nomatch.reason
    assert not short.ok and "shorter than 10" in short.reason
    assert quiet.ok and "no ICMP error" in quiet.reason
    assert not noreply.ok and "no UDP reply within 0.4 s" in noreply.reason
    assert not refused.ok and refused.reason == "ICMP port unreachable"


# ---- MISC_CHECK -----------------------------------------------------------------------------
def misc_probe(
    argv: tuple[str, ...], timeout: float, dynamic: bool = False, user: str | None = None
) -> tuple[MiscProbe, ScriptRunner]:
    """A MiscProbe on its own script runner, its script vetted as the checker vets it."""
    runner = ScriptRunner(asyncio.get_running_loop(), logging.getLogger("test"), Counter())
    vetted = vet(argv, user, None, Defaults())
    return MiscProbe(runner, "MISC_CHECK test", vetted, timeout, dynamic), runner


@pytest.mark.parametrize(
    ("script", "dynamic", "ok", "reason", "weight"),
    [
        ("exit 0", False, True, "exited 0", None),
        ("exit 3", False, False, "exited 3", None),
        ("exit 1", True, False, "exited 1", None),
        ("exit 7", True, True, "weight 5", 5),
        ("kill -9 $$", False, False, "killed by SIGKILL", None),
        ("sleep 20", False, False, "timed out after 0.5 s", None),
    ],
)
def test_misc(script: str, dynamic: bool, ok: bool, reason: str, weight: int | None) -> None:
    async def main() -> Any:
        probe, runner = misc_probe(("/bin/sh", "-c", script), 0.5, dynamic)
        out = await outcome_of(probe)
        # the verdict comes once the program has been reaped: nothing is left running
        assert not runner.running
        return out

    t0 = time.monotonic()
    out = run(main())
    assert out.ok is ok and reason in out.reason and out.weight == weight
    assert time.monotonic() - t0 < 5


def test_misc_missing_program_and_user() -> None:
    async def main() -> Any:
        a = await outcome_of(misc_probe(("/nonexistent/check",), 1.0)[0])
        probe, runner = misc_probe((sys.executable, "-c", "0"), 1.0, user="no-such-user-pk")
        b = await outcome_of(probe)
        return a, b, runner

    a, b, runner = run(main())
    assert not a.ok and "cannot run /nonexistent/check" in a.reason
    assert not b.ok and "Script user 'no-such-user-pk' does not exist" in b.reason
    assert runner.counters["scripts.refused"] == 1 and runner.counters["scripts.started"] == 0


@pytest.mark.skipif(os.geteuid() != 0, reason="running a script as another user needs root")
def test_misc_runs_as_the_configured_user_and_group() -> None:
    script = '[ "$(id -u)" = 65534 ] && [ "$(id -G)" = "$(id -g)" ] && [ "$(id -g)" != 0 ]'

    async def main() -> Any:
        argv = ("/bin/sh", "-c", script)
        as_nobody = await outcome_of(misc_probe(argv, 2.0, user="nobody")[0])
        as_root = await outcome_of(misc_probe(argv, 2.0)[0])
        return as_nobody, as_root

    as_nobody, as_root = run(main())
    assert as_nobody.ok, as_nobody.reason
    assert not as_root.ok


# ---- FILE_CHECK -----------------------------------------------------------------------------
def test_file_check(tmp_path: Path) -> None:
    f = tmp_path / "state"

    async def main() -> list[Any]:
        loop = asyncio.get_running_loop()
        res = [await outcome_of(FileProbe(loop, str(f), 0, False, 1))]
        f.write_text("0\n")
        res.append(await outcome_of(FileProbe(loop, str(f), 0, False, 1)))
        f.write_text("1\n")
        res.append(await outcome_of(FileProbe(loop, str(f), 0, False, 1)))
        f.write_text("3\n")
        res.append(await outcome_of(FileProbe(loop, str(f), 2, False, 10)))
        return res

    missing, zero, one, weighted = run(main())
    assert not missing.ok and "cannot read" in missing.reason
    assert zero.ok and not one.ok and "holds 1" in one.reason
    assert weighted.ok and weighted.weight == 16


# ---- PING_CHECK on loopback (no namespace needed) ------------------------------------------
@pytest.mark.skipif(os.geteuid() != 0, reason="raw ICMP sockets need root")
def test_ping_loopback() -> None:
    async def main() -> Any:
        loop = asyncio.get_running_loop()
        return await outcome_of(PingProbe(loop, Target(host="127.0.0.1", port=0,
                                                       connect_timeout=1.0)))  # fmt: skip

    out = run(main())
    assert out.ok, out.reason


def test_ssl_get_server_silent_during_the_handshake() -> None:
    """A TCP server that accepts and never speaks TLS: the handshake step times out."""

    async def main() -> Any:
        accepted: list[asyncio.StreamWriter] = []

        async def silent(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            accepted.append(w)

        srv = await asyncio.start_server(silent, "127.0.0.1", 0)
        port = srv.sockets[0].getsockname()[1]
        loop = asyncio.get_running_loop()
        out = await outcome_of(HttpProbe(loop, target(port, 0.5), (url(),), tls=tls_context()))
        srv.close()
        for w in accepted:
            w.transport.abort()
        return out

    out = run(main())
    assert not out.ok and "timed out after 0.5 s (TLS handshake)" in out.reason
