"""Probes that hold a conversation: HTTP_GET, SSL_GET and SMTP_CHECK (I/O, asyncio streams).

Each attempt is one coroutine run as a task on the actor's loop. Every step is bounded:
the connect, the TLS handshake and each wait for data share one deadline per URL (or per
SMTP dialogue) of ``connect_timeout``, so a server that accepts and then trickles or hangs
cannot hold a check past it; reads are capped (header 64 KiB, body 4 MiB, SMTP lines
8 KiB and 64 lines a reply), so an endless body is a failure with that reason.
A failure names the step it happened in ("TLS handshake", "waiting for the response"...).

TLS: verification is on only when the root ``SSL`` block names a ``ca`` (keepalived's
own default context does not verify); the host name is never matched, only the chain.
SNI is sent with ``enable_sni``/``sni_name`` (the name, else the virtualhost).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import select
import socket
import ssl
from dataclasses import dataclass

from pykeepalived.actors.checker import http as httpcodec
from pykeepalived.actors.checker import wire
from pykeepalived.actors.checker.fsm import Outcome
from pykeepalived.actors.checker.plan import Target
from pykeepalived.actors.checker.probes_net import (
    Done,
    Mux,
    close_rst,
    connect_now,
    describe_error,
    make_socket,
    sockaddr,
)

READ_CHUNK = 65536
SMTP_LINE_MAX = 8192
SMTP_LINES_MAX = 64


class _Step:
    """The name of the step in progress, for the reason of a failure."""

    __slots__ = ("name",)

    def __init__(self) -> None:
        self.name = "connect"


class TaskProbe:
    """Runs ``attempt()`` as a task; ``done`` is called once with its Outcome."""

    def __init__(self, loop: asyncio.AbstractEventLoop, target: Target) -> None:
        self.loop = loop
        self.target = target
        self.task: asyncio.Task[Outcome] | None = None
        self.done: Done | None = None

    def start(self, done: Done) -> None:
        self.done = done
        self.task = self.loop.create_task(self._guarded())
        self.task.add_done_callback(self._task_done)

    async def _guarded(self) -> Outcome:
        try:
            return await self.attempt()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug in a probe is a failed attempt, never a crash
            return Outcome(False, f"internal error in probe: {exc!r}")

    def _task_done(self, task: asyncio.Task[Outcome]) -> None:
        done, self.done = self.done, None
        if done is None or task.cancelled():
            return
        done(task.result())

    def cancel(self) -> None:
        self.done = None
        if self.task is not None and not self.task.done():
            self.task.cancel()

    async def attempt(self) -> Outcome:
        raise NotImplementedError

    async def _connect(
        self,
        step: _Step,
        tls: ssl.SSLContext | None = None,
        server_hostname: str | None = None,
        limit: int = READ_CHUNK,
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        step.name = "connect"
        sock = make_socket(self.target, socket.SOCK_STREAM)
        try:
            await self.loop.sock_connect(sock, sockaddr(self.target))
            if tls is not None:
                step.name = "TLS handshake"
            return await asyncio.open_connection(
                sock=sock,
                ssl=tls,
                server_hostname=(server_hostname or "") if tls is not None else None,
                limit=limit,
            )
        except BaseException:
            sock.close()
            raise


def failure_reason(step: str, exc: BaseException, timeout: float) -> str:
    if isinstance(exc, TimeoutError):
        return f"timed out after {timeout:g} s ({step})"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate verification failed: {exc.verify_message}"
    if isinstance(exc, ssl.SSLError):
        return f"TLS error ({step}): {exc.reason or exc}"
    if isinstance(exc, (httpcodec.HttpError, ValueError)):
        return str(exc)
    if isinstance(exc, asyncio.IncompleteReadError):
        return f"connection closed by the server ({step})"
    if isinstance(exc, OSError):
        return f"{describe_error(exc)} ({step})"
    return f"{type(exc).__name__}: {exc} ({step})"


@dataclass(frozen=True, slots=True)
class UrlCheck:
    """One url block ready to run: the rule, its compiled regex and its Host header."""

    rule: httpcodec.UrlRule
    pattern: re.Pattern[bytes] | None
    host: str


@dataclass
class Fetched:
    """A whole response (genhash prints it) or the reason there is none."""

    response: httpcodec.Response | None
    error: str | None


class HttpProbe(TaskProbe):
    """HTTP_GET / SSL_GET: every url block must pass, one connection each."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        target: Target,
        urls: tuple[UrlCheck, ...],
        protocol: str = "1.0",
        tls: ssl.SSLContext | None = None,
        sni: str | None = None,
        tls_compliant: bool = False,
        max_body: int = httpcodec.DEFAULT_MAX_BODY,
    ) -> None:
        super().__init__(loop, target)
        self.urls = urls
        self.protocol = protocol
        self.tls = tls
        self.sni = sni
        self.tls_compliant = tls_compliant
        self.max_body = max_body

    async def attempt(self) -> Outcome:
        if not self.urls:
            return Outcome(False, "no url block to check")
        for url in self.urls:
            fetched = await self.fetch(url.rule.path, url.host)
            if fetched.response is None:
                return Outcome(False, f"{url.rule.path}: {fetched.error}")
            why = httpcodec.judge(url.rule, fetched.response, url.pattern)
            if why is not None:
                return Outcome(False, why)
        n = len(self.urls)
        return Outcome(True, f"HTTP check of {n} url{'s' if n > 1 else ''} passed")

    async def fetch(self, path: str, host: str) -> Fetched:
        step = _Step()
        timeout = self.target.connect_timeout
        writer: asyncio.StreamWriter | None = None
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await self._connect(step, self.tls, self.sni)
                step.name = "sending the request"
                writer.write(httpcodec.build_request(path, host, self.protocol))
                step.name = "waiting for the response"
                parser = httpcodec.ResponseParser(self.max_body)
                while not parser.done:
                    data = await reader.read(READ_CHUNK)
                    if not data:
                        parser.eof()
                        break
                    parser.feed(data)
                return Fetched(parser.response, None)
        except Exception as exc:
            return Fetched(None, failure_reason(step.name, exc, timeout))
        finally:
            if writer is not None:
                await self._close(writer)

    async def _close(self, writer: asyncio.StreamWriter) -> None:
        if self.tls is not None and self.tls_compliant:
            writer.close()  # sends close_notify
            with contextlib.suppress(Exception):
                async with asyncio.timeout(0.5):
                    await writer.wait_closed()
        else:
            writer.transport.abort()


class PlainHttpProbe:
    """HTTP_GET without TLS in callback style on the :class:`Mux`: the same requests,
    limits, verdicts and reasons as :class:`HttpProbe`, without a task, a transport or
    a future per attempt (that is what lets one process check thousands of servers a
    second). Each url block gets its own connection and its own deadline."""

    __slots__ = (
        "addr", "done", "finished", "index", "loop", "max_body", "mux", "parser",
        "pending", "protocol", "sock", "step", "target", "urls",
    )  # fmt: skip

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        target: Target,
        urls: tuple[UrlCheck, ...],
        protocol: str = "1.0",
        max_body: int = httpcodec.DEFAULT_MAX_BODY,
        addr: object = None,
    ) -> None:
        self.loop = loop
        self.target = target
        self.urls = urls
        self.protocol = protocol
        self.max_body = max_body
        self.addr = addr if addr is not None else sockaddr(target)
        self.mux = Mux.of(loop)
        self.sock: socket.socket | None = None
        self.done: Done | None = None
        self.finished = False
        self.index = -1
        self.step = "connect"
        self.pending = b""
        self.parser: httpcodec.ResponseParser | None = None

    def start(self, done: Done) -> None:
        self.done = done
        if not self.urls:
            self._end(Outcome(False, "no url block to check"), soon=True)
            return
        self._next_url(soon=True)

    def _next_url(self, soon: bool = False) -> None:
        self._close()
        self.index += 1
        if self.index == len(self.urls):
            n = len(self.urls)
            self._end(Outcome(True, f"HTTP check of {n} url{'s' if n > 1 else ''} passed"), soon)
            return
        url = self.urls[self.index]
        self.step = "connect"
        self.parser = httpcodec.ResponseParser(self.max_body)
        self.pending = httpcodec.build_request(url.rule.path, url.host, self.protocol)
        try:
            sock = make_socket(self.target, socket.SOCK_STREAM)
        except OSError as exc:
            self._fail(f"{describe_error(exc)} (connect)", soon)
            return
        self.sock = sock
        self.mux.expire(self, self.target.connect_timeout, self.index)
        err = connect_now(sock, self.addr)
        if err < 0:
            self.mux.watch(sock.fileno(), select.EPOLLOUT, self)
        elif err > 0:
            self._fail(f"{describe_error(err)} (connect)", soon)
        else:
            self._send(soon)

    def ready(self, events: int) -> None:
        sock = self.sock
        if sock is None or self.finished:
            return
        if self.step == "connect":
            err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                self._fail(f"{describe_error(err)} (connect)")
                return
        if self.step == "waiting for the response":
            self._recv()
        else:
            self._send()

    def _send(self, soon: bool = False) -> None:
        sock = self.sock
        assert sock is not None
        self.step = "sending the request"
        try:
            sent = sock.send(self.pending)
        except BlockingIOError:
            sent = 0
        except OSError as exc:
            self._fail(f"{describe_error(exc)} (sending the request)", soon)
            return
        self.pending = self.pending[sent:]
        if self.pending:
            self.mux.watch(sock.fileno(), select.EPOLLOUT, self)
            return
        self.step = "waiting for the response"
        self.mux.watch(sock.fileno(), select.EPOLLIN, self)

    def _recv(self) -> None:
        sock, parser = self.sock, self.parser
        assert sock is not None and parser is not None
        for _ in range(16):  # bounded work per wake-up; the rest on the next one
            try:
                data = sock.recv(READ_CHUNK)
            except BlockingIOError:
                break
            except OSError as exc:
                self._fail(f"{describe_error(exc)} (waiting for the response)")
                return
            try:
                if data:
                    parser.feed(data)
                else:
                    parser.eof()
            except httpcodec.HttpError as exc:
                self._fail(str(exc))
                return
            if parser.done:
                url = self.urls[self.index]
                why = httpcodec.judge(url.rule, parser.response, url.pattern)
                if why is not None:
                    self._end(Outcome(False, why))
                else:
                    self._next_url()
                return
        self.mux.watch(sock.fileno(), select.EPOLLIN, self)

    def timed_out(self, token: int) -> None:
        if token == self.index:
            self._fail(f"timed out after {self.target.connect_timeout:g} s ({self.step})")

    def _fail(self, reason: str, soon: bool = False) -> None:
        self._end(Outcome(False, f"{self.urls[self.index].rule.path}: {reason}"), soon)

    def internal_error(self, exc: BaseException) -> None:
        self._end(Outcome(False, f"internal error in probe: {exc!r}"))

    def _close(self) -> None:
        sock, self.sock = self.sock, None
        if sock is not None:
            self.mux.forget(sock.fileno())
            close_rst(sock)

    def _end(self, outcome: Outcome, soon: bool = False) -> None:
        if self.finished:
            return
        self.finished = True
        self._close()
        done, self.done = self.done, None
        if done is not None:
            if soon:
                self.loop.call_soon(done, outcome)
            else:
                done(outcome)

    def cancel(self) -> None:
        self.done = None
        self._end(Outcome(False, "abandoned"))


class SmtpProbe(TaskProbe):
    """SMTP_CHECK: 220 greeting → HELO → 250 → QUIT → 221."""

    def __init__(self, loop: asyncio.AbstractEventLoop, target: Target, helo_name: str) -> None:
        super().__init__(loop, target)
        self.helo_name = helo_name

    async def attempt(self) -> Outcome:
        step = _Step()
        timeout = self.target.connect_timeout
        writer: asyncio.StreamWriter | None = None
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await self._connect(step, limit=SMTP_LINE_MAX)
                step.name = "waiting for the greeting"
                code, text = await self._reply(reader)
                if code != 220:
                    return Outcome(False, f"SMTP greeting {code} {text}".strip())
                step.name = "HELO"
                writer.write(f"HELO {self.helo_name}\r\n".encode())
                code, text = await self._reply(reader)
                if code != 250:
                    return Outcome(False, f"SMTP HELO answered {code} {text}".strip())
                step.name = "QUIT"
                writer.write(b"QUIT\r\n")
                code, text = await self._reply(reader)
                if code != 221:
                    return Outcome(False, f"SMTP QUIT answered {code} {text}".strip())
                return Outcome(True, "SMTP dialogue completed")
        except Exception as exc:
            return Outcome(False, "SMTP: " + failure_reason(step.name, exc, timeout))
        finally:
            if writer is not None:
                writer.transport.abort()

    async def _reply(self, reader: asyncio.StreamReader) -> tuple[int, str]:
        first: int | None = None
        text = ""
        for _ in range(SMTP_LINES_MAX):
            try:
                line = await reader.readuntil(b"\n")
            except asyncio.LimitOverrunError:
                raise ValueError(f"SMTP reply line longer than {SMTP_LINE_MAX} bytes") from None
            code, last, part = wire.parse_smtp_line(line)
            if first is None:
                first, text = code, part
            elif code != first:
                raise ValueError(f"SMTP multi-line reply changes code {first} → {code}")
            if last:
                return code, text
        raise ValueError(f"SMTP reply longer than {SMTP_LINES_MAX} lines")


def tls_context(
    ca: str | None = None,
    certificate: str | None = None,
    key: str | None = None,
    password: str | None = None,
) -> ssl.SSLContext:
    """The SSL_GET client context from the root ``SSL`` block (verification only with a CA)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    if ca:
        ctx.load_verify_locations(cafile=ca)
        ctx.verify_mode = ssl.CERT_REQUIRED
    else:
        ctx.verify_mode = ssl.CERT_NONE
    if certificate:
        ctx.load_cert_chain(certificate, key or None, password or None)
    return ctx
