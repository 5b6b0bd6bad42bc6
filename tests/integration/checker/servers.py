"""Real servers on loopback for the checker tests: well-behaved and misbehaving ones.

Every server runs on the test's own asyncio loop, listens on 127.0.0.1 with a kernel-
chosen port, and is closed by the test. ``certs()`` makes a throwaway CA and server
certificate with the ``openssl`` command line (the ``cryptography`` package is not
installed here).
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import struct
import subprocess
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from pykeepalived.actors.checker.fsm import Outcome

LINGER_RST = struct.pack("ii", 1, 0)


async def outcome_of(probe: object, timeout: float = 10.0) -> Outcome:
    """Run one probe attempt to its end."""
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[Outcome] = loop.create_future()
    probe.start(fut.set_result)  # type: ignore[attr-defined]
    return await asyncio.wait_for(fut, timeout)


# ---- HTTP ---------------------------------------------------------------------------------
@dataclass
class HttpServer:
    """``mode`` picks the behaviour; the request lines and SNI names seen are recorded."""

    mode: str = "ok"
    body: bytes = b"<html>healthy</html>\n"
    status: int = 200
    tls: ssl.SSLContext | None = None
    requests: list[bytes] = field(default_factory=list)
    sni_seen: list[str | None] = field(default_factory=list)
    server: asyncio.Server | None = None
    port: int = 0

    async def start(self) -> HttpServer:
        if self.tls is not None:

            def on_sni(sslobj: ssl.SSLObject, name: str | None, ctx: ssl.SSLContext) -> None:
                self.sni_seen.append(name)

            self.tls.sni_callback = on_sni  # type: ignore[assignment]
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=self.tls)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            if hasattr(self.server, "close_clients"):
                self.server.close_clients()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            if self.mode == "hang_before_request":
                await asyncio.sleep(30)
                return
            head = await reader.readuntil(b"\r\n\r\n")
            self.requests.append(head)
            mode = self.mode
            if mode == "hang":
                await asyncio.sleep(30)
            elif mode == "reset":
                sock = writer.get_extra_info("socket")
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_RST)
                writer.transport.abort()
                return
            elif mode == "garbage":
                writer.write(b"\x16\x03\x01 this is not http at all\r\n\r\n")
            elif mode == "endless":
                writer.write(b"HTTP/1.0 200 OK\r\n\r\n")
                chunk = b"x" * 65536
                while True:
                    writer.write(chunk)
                    await writer.drain()
            elif mode == "trickle":
                writer.write(b"HTTP/1.0 200 OK\r\n\r\n")
                while True:
                    writer.write(b"x")
                    await writer.drain()
                    await asyncio.sleep(0.2)
            elif mode == "chunked":
                writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
                for i in range(0, len(self.body), 5):
                    part = self.body[i : i + 5]
                    writer.write(b"%x\r\n%s\r\n" % (len(part), part))
                writer.write(b"0\r\n\r\n")
            elif mode == "truncated":
                writer.write(b"HTTP/1.0 200 OK\r\nContent-Length: 1000\r\n\r\nshort")
            else:
                writer.write(
                    b"HTTP/1.0 %d X\r\nContent-Length: %d\r\n\r\n" % (self.status, len(self.body))
                    + self.body
                )
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            writer.transport.abort()


# ---- TLS material --------------------------------------------------------------------------
@dataclass(frozen=True)
class Certs:
    ca: Path
    cert: Path
    key: Path
    other_ca: Path

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert, self.key)
        return ctx


def certs(directory: Path) -> Certs:
    """A CA, a server certificate it signs, and an unrelated second CA."""

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True)

    for name in ("ca", "other"):
        run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
            f"/CN=test {name} CA", "-keyout", f"{name}.key", "-out", f"{name}.pem")  # fmt: skip
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=rs.test", "-keyout",
        "server.key", "-out", "server.csr")  # fmt: skip
    (directory / "ext.cnf").write_text("subjectAltName=DNS:rs.test,IP:127.0.0.1\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-extfile", "ext.cnf", "-out", "server.pem")  # fmt: skip
    return Certs(directory / "ca.pem", directory / "server.pem", directory / "server.key",
                 directory / "other.pem")  # fmt: skip


# ---- SMTP -------------------------------------------------------------------------------
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def smtp_server(mode: str, helo_seen: list[str]) -> asyncio.Server:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            if mode == "hang":
                await asyncio.sleep(30)
                return
            if mode == "garbage":
                writer.write(b"SSH-2.0-OpenSSH\r\n")
                await writer.drain()
                await asyncio.sleep(1)
                return
            if mode == "busy":
                writer.write(b"554 5.3.2 too busy\r\n")
                await writer.drain()
                return
            writer.write(b"220-mail.test ESMTP\r\n220 ready\r\n")
            await writer.drain()
            line = await reader.readline()
            helo_seen.append(line.decode().strip())
            writer.write(b"250 mail.test\r\n")
            await writer.drain()
            if (await reader.readline()).strip() == b"QUIT":
                writer.write(b"221 bye\r\n")
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.transport.abort()

    return await asyncio.start_server(handle, "127.0.0.1", 0)


# ---- DNS / UDP ------------------------------------------------------------------------------
class DnsServer(asyncio.DatagramProtocol):
    """Answers A queries for ``ok.test`` with 10.1.2.3; ``mode`` selects misbehaviour."""

    def __init__(self, mode: str = "ok") -> None:
        self.mode = mode
        self.transport: asyncio.DatagramTransport | None = None
        self.queries = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.queries += 1
        assert self.transport is not None
        if self.mode == "silent":
            return
        if self.mode == "garbage":
            self.transport.sendto(data[:2] + b"\x80", addr)
            return
        ident = data[:2]
        question = data[12:]
        name_end = question.index(b"\x00") + 5
        q = question[:name_end]
        qname = q[:-4]
        known = qname == b"\x02ok\x04test\x00"
        rcode = 0 if known else 3
        if self.mode == "servfail":
            rcode = 2
        answers = b""
        count = 0
        if known and rcode == 0 and q[-4:-2] == b"\x00\x01":
            answers = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 30, 4) + bytes([10, 1, 2, 3])
            count = 1
        head = ident + struct.pack("!HHHHH", 0x8180 | rcode, 1, count, 0, 0)
        self.transport.sendto(head + q + answers, addr)


class UdpEcho(asyncio.DatagramProtocol):
    def __init__(self, reply: bytes | None = None, silent: bool = False) -> None:
        self.reply = reply
        self.silent = silent
        self.transport: asyncio.DatagramTransport | None = None
        self.seen: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.seen.append(data)
        if not self.silent and self.transport is not None:
            self.transport.sendto(self.reply if self.reply is not None else data, addr)


async def udp_server(proto: asyncio.DatagramProtocol) -> tuple[asyncio.DatagramTransport, int]:
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(lambda: proto, local_addr=("127.0.0.1", 0))
    return transport, transport.get_extra_info("sockname")[1]  # type: ignore[return-value]


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A port nothing listens on (bound and released at once)."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
