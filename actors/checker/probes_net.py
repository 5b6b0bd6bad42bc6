"""Probes on raw sockets: TCP_CHECK, UDP_CHECK, DNS_CHECK, PING_CHECK (I/O).

Every probe is one attempt: ``start(done)`` begins it, ``done(Outcome)`` is called exactly
once (never from inside ``start``), ``cancel()`` abandons it silently. All of them run on
the actor's asyncio loop with non-blocking sockets; no task, no thread, no future per
attempt. TCP_CHECK (and plain HTTP_GET, in ``probes_stream``) go further: a handshake the
kernel finished inside ``connect()`` is read back at once (:func:`connect_now`), and a
pending one waits in a private epoll set with swept deadlines (:class:`Mux`) instead of
``add_writer`` + ``call_at``. That keeps an attempt to a few system calls, which is what
lets one process check ten thousand real servers a second. UDP, DNS and PING use
``loop.add_reader`` and one ``call_at`` deadline.

Design notes:

* TCP_CHECK closes a successful connection with an RST (``SO_LINGER`` 0), as HAProxy's
  health checks do: a check that ends in FIN would leave one TIME_WAIT socket per check
  on this host (600,000 at 10,000 checks/s), and the server learns nothing from a FIN.
* Every socket gets the checker's ``fwmark`` (SO_MARK), ``bind_if`` (SO_BINDTODEVICE),
  and ``bindto``/``bind_port`` before the first packet leaves.
* UDP_CHECK without ``require_reply`` is up unless an ICMP error (port unreachable) comes
  back within ``connect_timeout``, which Linux reports on a connected UDP socket.
* PING_CHECK uses an unprivileged ICMP datagram socket when ``ping_group_range`` allows
  it, else a raw socket (root). A random payload token identifies our reply.
"""

from __future__ import annotations

import _socket
import asyncio
import errno
import os
import select
import socket
import struct
import weakref
from collections import deque
from collections.abc import Callable
from typing import Any

from pykeepalived.actors.checker import dns as dnscodec
from pykeepalived.actors.checker import wire
from pykeepalived.actors.checker.fsm import Outcome
from pykeepalived.actors.checker.plan import Target

Done = Callable[[Outcome], None]
_LINGER_RST = struct.pack("ii", 1, 0)
_STREAM_NB = socket.SOCK_STREAM | socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC
SO_MARK = getattr(socket, "SO_MARK", 36)


def family_of(target: Target) -> int:
    return socket.AF_INET6 if target.is_v6 else socket.AF_INET


def sockaddr(
    target: Target, port: int | None = None
) -> tuple[str, int] | tuple[str, int, int, int]:
    """The address to connect to (an IPv6 link-local target gets ``bind_if``'s index)."""
    p = target.port if port is None else port
    if target.is_v6:
        scope = socket.if_nametoindex(target.bind_if) if target.bind_if else 0
        return (target.host, p, 0, scope)
    return (target.host, p)


def make_socket(target: Target, kind: int, proto: int = 0) -> socket.socket:
    """A non-blocking socket with the checker's mark, device and source bound."""
    sock = socket.socket(
        family_of(target), kind | socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC, proto
    )
    try:
        if target.fwmark:
            sock.setsockopt(socket.SOL_SOCKET, SO_MARK, target.fwmark)
        if target.bind_if:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, target.bind_if.encode())
        if target.bindto or target.bind_port:
            if target.bind_port:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            any_addr = "::" if target.is_v6 else "0.0.0.0"
            sock.bind((target.bindto or any_addr, target.bind_port or 0))
    except BaseException:
        sock.close()
        raise
    return sock


def describe_error(exc: BaseException | int) -> str:
    """A short operator-facing reason for a socket error."""
    code = exc if isinstance(exc, int) else getattr(exc, "errno", None)
    names = {
        errno.ECONNREFUSED: "connection refused",
        errno.ECONNRESET: "connection reset by peer",
        errno.EHOSTUNREACH: "host unreachable",
        errno.ENETUNREACH: "network unreachable",
        errno.ETIMEDOUT: "connection timed out",
        errno.EADDRNOTAVAIL: "source address not available",
        errno.EADDRINUSE: "source address/port in use",
        errno.EPERM: "operation not permitted",
        errno.EACCES: "permission denied",
        errno.EMFILE: "too many open files",
    }
    if isinstance(code, int) and code in names:
        return names[code]
    if isinstance(code, int):
        return os.strerror(code)
    return str(exc) or type(exc).__name__


class SocketProbe:
    """Shared plumbing: one socket, one deadline, exactly one ``done`` call."""

    __slots__ = ("done", "fd", "finished", "loop", "reading", "sock", "target", "timer")

    def __init__(self, loop: asyncio.AbstractEventLoop, target: Target) -> None:
        self.loop = loop
        self.target = target
        self.sock: socket.socket | None = None
        self.fd = -1
        self.timer: asyncio.TimerHandle | None = None
        self.done: Done | None = None
        self.finished = False
        self.reading = False

    def start(self, done: Done) -> None:
        self.done = done
        try:
            self._begin()
        except OSError as exc:
            self._finish(Outcome(False, self._prefix() + describe_error(exc)), soon=True)

    def _begin(self) -> None:
        raise NotImplementedError

    def _prefix(self) -> str:
        return ""

    def _arm_deadline(self, on_timeout: Callable[[], None]) -> None:
        self.timer = self.loop.call_at(self.loop.time() + self.target.connect_timeout, on_timeout)

    def _finish(self, outcome: Outcome, soon: bool = False) -> None:
        if self.finished:
            return
        self.finished = True
        self._release()
        done = self.done
        self.done = None
        if done is None:
            return
        if soon:
            self.loop.call_soon(done, outcome)
        else:
            done(outcome)

    def _release(self, rst: bool = False) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.sock is not None:
            if self.fd >= 0:
                if self.reading:
                    self.loop.remove_reader(self.fd)
                else:
                    self.loop.remove_writer(self.fd)
            if rst:
                try:
                    self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RST)
                except OSError:
                    pass
            self.sock.close()
            self.sock = None
            self.fd = -1

    def cancel(self) -> None:
        self.finished = True
        self.done = None
        self._release(rst=True)


class Mux:
    """Sockets of callback probes in flight on one loop: one epoll set, one deadline sweep.

    asyncio's ``add_writer``/``remove_writer`` and a ``call_at`` per attempt cost more
    Python than a loopback connect itself. Here a waiting socket is registered with
    ``EPOLLONESHOT`` in a private epoll whose fd is the only one the loop watches (each
    readiness disarms it; closing a socket drops it from the set), and deadlines sit in
    one FIFO per timeout value (so each FIFO is in deadline order), swept every
    ``SWEEP`` seconds. Clients have ``finished``, ``ready(events)``, ``timed_out(token)``
    and ``internal_error(exc)`` (a bug in a callback fails that attempt, not the mux).
    """

    SWEEP = 0.02
    _muxes: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Mux] = weakref.WeakKeyDictionary()

    @classmethod
    def of(cls, loop: asyncio.AbstractEventLoop) -> Mux:
        mux = cls._muxes.get(loop)
        if mux is None or mux.closed:
            mux = cls._muxes[loop] = cls(loop)
        return mux

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        # only a weak reference to the loop (the registry is keyed by it), and the epoll fd
        # is closed with the loop's collection: no loop or fd outlives asyncio.run()
        self._loop = weakref.ref(loop)
        self.ep = select.epoll()
        self.closed = False
        self.waiting: dict[int, Any] = {}
        self.deadlines: dict[float, deque[tuple[float, Any, int]]] = {}
        self.sweeper: asyncio.TimerHandle | None = None
        loop.add_reader(self.ep.fileno(), self._ready)
        weakref.finalize(loop, self.ep.close)

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        loop = self._loop()
        if loop is None:  # pragma: no cover - only after the loop is gone
            raise RuntimeError("the event loop of this mux is gone")
        return loop

    def watch(self, fd: int, events: int, client: Any) -> None:
        """Call ``client.ready(events)`` once when ``fd`` is ready for ``events``."""
        try:
            self.ep.register(fd, events | select.EPOLLONESHOT)
        except FileExistsError:  # watched before: re-arm
            self.ep.modify(fd, events | select.EPOLLONESHOT)
        self.waiting[fd] = client

    def expire(self, client: Any, timeout: float, token: int = 0) -> None:
        """Call ``client.timed_out(token)`` after ``timeout`` unless it has finished."""
        q = self.deadlines.get(timeout)
        if q is None:
            q = self.deadlines[timeout] = deque()
        q.append((self.loop.time() + timeout, client, token))
        if self.sweeper is None:
            self.sweeper = self.loop.call_later(self.SWEEP, self._sweep)

    def forget(self, fd: int) -> None:
        """The client is done with ``fd`` (call before closing it)."""
        self.waiting.pop(fd, None)

    def _ready(self) -> None:
        waiting = self.waiting
        for fd, events in self.ep.poll(0):
            client = waiting.pop(fd, None)
            if client is not None:
                try:
                    client.ready(events)
                except Exception as exc:  # a probe bug fails that attempt, nothing else
                    client.internal_error(exc)

    def _sweep(self) -> None:
        now = self.loop.time()
        pending = False
        for q in self.deadlines.values():
            while q and q[0][0] <= now:
                _, client, token = q.popleft()
                if not client.finished:
                    try:
                        client.timed_out(token)
                    except Exception as exc:
                        client.internal_error(exc)
            pending = pending or bool(q)
        self.sweeper = self.loop.call_later(self.SWEEP, self._sweep) if pending else None

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.loop.remove_reader(self.ep.fileno())
            self.ep.close()
            if self.sweeper is not None:
                self.sweeper.cancel()


def connect_now(sock: Any, addr: Any) -> int:
    """Start a non-blocking connect: 0 connected, -1 in progress, else the errno.

    On loopback and other local paths the kernel completes the handshake (or refuses
    it) inside ``connect()``; a second ``connect()`` reads that back at once (EISCONN,
    EALREADY while pending, or the error), so most local attempts never wait in epoll.
    """
    err = sock.connect_ex(addr)
    if err == errno.EINPROGRESS:
        err = sock.connect_ex(addr)
        if err == errno.EISCONN:
            return 0
        if err in (errno.EALREADY, errno.EINPROGRESS):
            return -1
    return err


def plain_tcp_family(target: Target) -> int | None:
    """The address family when a TCP socket to ``target`` needs no option before its
    connect (no fwmark, bind_if, bindto, bind_port), else None."""
    if target.fwmark or target.bind_if or target.bindto or target.bind_port:
        return None
    return socket.AF_INET6 if target.is_v6 else socket.AF_INET


def close_rst(sock: Any) -> None:
    """Close with an RST (no TIME_WAIT left behind by a health check)."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RST)
    except OSError:
        pass
    sock.close()


class TcpProbe:
    """TCP_CHECK: the connect succeeds within connect_timeout → up (see :func:`connect_now`)."""

    __slots__ = ("addr", "done", "family", "finished", "loop", "sock", "target")

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        target: Target,
        addr: Any = None,
        family: int | None = None,
    ) -> None:
        self.loop = loop
        self.target = target
        self.addr = addr if addr is not None else sockaddr(target)
        # ``family`` given: the socket needs no option before connect (no mark, device
        # or source), so the bare socket type is enough; see plain_tcp_family()
        self.family = family
        self.sock: Any = None
        self.done: Done | None = None
        self.finished = False

    def start(self, done: Done) -> None:
        outcome = self.begin(done)
        if outcome is not None:
            self.loop.call_soon(done, outcome)

    def begin(self, done: Done) -> Outcome | None:
        """``start`` for the shell's hot path: an attempt the kernel settled inside
        ``connect()`` is returned at once (``done`` is then never called); None means
        it is pending and ``done`` will be called."""
        self.done = done
        try:
            if self.family is not None:
                # the C socket type behind socket.socket: same calls, ~3.5 µs less per
                # create+close here, which is 4 % of a whole TCP_CHECK attempt
                sock: Any = _socket.socket(self.family, _STREAM_NB)
            else:
                sock = make_socket(self.target, socket.SOCK_STREAM)
        except OSError as exc:
            return self._settled(None, Outcome(False, describe_error(exc)))
        err = connect_now(sock, self.addr)
        if err < 0:
            self.sock = sock
            mux = Mux.of(self.loop)
            mux.watch(sock.fileno(), select.EPOLLOUT, self)
            mux.expire(self, self.target.connect_timeout)
            return None
        if err == 0:
            return self._settled(sock, _CONNECTED)
        return self._settled(sock, Outcome(False, describe_error(err)))

    def _settled(self, sock: Any, outcome: Outcome) -> Outcome:
        self.finished = True
        self.done = None
        if sock is not None:
            if outcome.ok:
                close_rst(sock)
            else:
                sock.close()
        return outcome

    def ready(self, events: int) -> None:
        sock = self.sock
        if sock is None or self.finished:
            return
        err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        self._end(sock, _CONNECTED if err == 0 else Outcome(False, describe_error(err)))

    def timed_out(self, token: int) -> None:
        t = self.target.connect_timeout
        self._end(self.sock, Outcome(False, f"connect timed out after {t:g} s"))

    def _end(self, sock: Any, outcome: Outcome) -> None:
        if self.finished:
            return
        self.finished = True
        if self.sock is not None:  # it waited in the mux
            Mux.of(self.loop).forget(self.sock.fileno())
            self.sock = None
        if sock is not None:
            if outcome.ok:
                close_rst(sock)
            else:
                sock.close()
        done, self.done = self.done, None
        if done is not None:
            done(outcome)

    def internal_error(self, exc: BaseException) -> None:
        self._end(self.sock, Outcome(False, f"internal error in probe: {exc!r}"))

    def cancel(self) -> None:
        self.done = None
        self._end(self.sock, _ABANDONED)


_CONNECTED = Outcome(True, "TCP connect succeeded")
_ABANDONED = Outcome(False, "abandoned")


class _DatagramProbe(SocketProbe):
    """A connected datagram socket: send once, then wait for a reply or an ICMP error."""

    __slots__ = ()

    def _open(self, kind: int, proto: int, payload: bytes, port: int | None = None) -> None:
        sock = self.sock = make_socket(self.target, kind, proto)
        sock.connect(sockaddr(self.target, port))
        self.fd = sock.fileno()
        self.reading = True
        self.loop.add_reader(self.fd, self._readable)
        self._arm_deadline(self._timeout)
        sock.send(payload)

    def _readable(self) -> None:
        assert self.sock is not None
        for _ in range(16):  # bounded: at most 16 datagrams per wake-up
            try:
                data = self.sock.recv(65536)
            except BlockingIOError:
                return
            except OSError as exc:
                self._finish(Outcome(False, self._icmp_reason(exc)))
                return
            self._datagram(data)
            if self.finished:
                return

    def _icmp_reason(self, exc: OSError) -> str:
        if exc.errno == errno.ECONNREFUSED:
            return "ICMP port unreachable"
        return "ICMP error: " + describe_error(exc)

    def _datagram(self, data: bytes) -> None:
        raise NotImplementedError

    def _timeout(self) -> None:
        raise NotImplementedError


class UdpProbe(_DatagramProbe):
    """UDP_CHECK: payload out; a matching reply (``require_reply``) or no ICMP error."""

    __slots__ = ("max_len", "min_len", "pattern", "payload", "require_reply")

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        target: Target,
        payload: bytes | None,
        require_reply: bool,
        pattern: wire.ReplyPattern | None,
        min_len: int = 0,
        max_len: int = 255,
    ) -> None:
        super().__init__(loop, target)
        self.payload = payload if payload is not None else os.urandom(16)
        self.require_reply = require_reply
        self.pattern = pattern
        self.min_len = min_len
        self.max_len = max_len

    def _begin(self) -> None:
        self._open(socket.SOCK_DGRAM, 0, self.payload)

    def _datagram(self, data: bytes) -> None:
        if not self.require_reply:
            self._finish(Outcome(True, "UDP reply received"))
            return
        why = wire.judge_udp_reply(data, self.pattern, self.min_len, self.max_len)
        self._finish(Outcome(why is None, why or "UDP reply matches"))

    def _timeout(self) -> None:
        self.timer = None
        t = self.target.connect_timeout
        if self.require_reply:
            self._finish(Outcome(False, f"no UDP reply within {t:g} s"))
        else:
            self._finish(Outcome(True, f"no ICMP error within {t:g} s"))


class DnsProbe(_DatagramProbe):
    """DNS_CHECK: one query; the reply must answer it with a record of the asked type."""

    __slots__ = ("ident", "qname", "qtype")

    def __init__(
        self, loop: asyncio.AbstractEventLoop, target: Target, qname: str, qtype: int
    ) -> None:
        super().__init__(loop, target)
        self.qname = qname
        self.qtype = qtype
        self.ident = int.from_bytes(os.urandom(2), "big")

    def _begin(self) -> None:
        query = dnscodec.build_query(self.ident, self.qname, self.qtype)
        self._open(socket.SOCK_DGRAM, 0, query)

    def _datagram(self, data: bytes) -> None:
        verdict, why = dnscodec.judge_reply(data, self.ident, self.qname, self.qtype)
        if verdict is None:
            return  # not ours: keep waiting
        self._finish(Outcome(verdict, why))

    def _timeout(self) -> None:
        self.timer = None
        self._finish(Outcome(False, f"no DNS reply within {self.target.connect_timeout:g} s"))


_ICMP_DGRAM_OK: dict[int, bool] = {}


class PingProbe(_DatagramProbe):
    """PING_CHECK: one ICMP/ICMPv6 echo request, the matching echo reply → up."""

    __slots__ = ("raw", "seq", "token")

    def __init__(self, loop: asyncio.AbstractEventLoop, target: Target) -> None:
        super().__init__(loop, target)
        self.token = os.urandom(16)
        self.seq = int.from_bytes(os.urandom(2), "big")
        self.raw = False

    def _begin(self) -> None:
        v6 = self.target.is_v6
        proto = socket.IPPROTO_ICMPV6 if v6 else socket.IPPROTO_ICMP
        fam = family_of(self.target)
        packet = wire.build_echo(v6, os.getpid(), self.seq, self.token)
        if _ICMP_DGRAM_OK.get(fam, True):
            try:
                self._open(socket.SOCK_DGRAM, proto, packet, port=0)
                _ICMP_DGRAM_OK[fam] = True
                return
            except PermissionError:
                _ICMP_DGRAM_OK[fam] = False
                self._release()
        self.raw = True
        self._open(socket.SOCK_RAW, proto, packet, port=0)

    def _datagram(self, data: bytes) -> None:
        v6 = self.target.is_v6
        parsed = wire.parse_echo_reply(v6, data, strip_ip_header=self.raw)
        if not isinstance(parsed, tuple):
            return
        _ident, seq, payload = parsed
        if seq == self.seq and payload == self.token:
            self._finish(Outcome(True, "ICMP echo reply received"))

    def _icmp_reason(self, exc: OSError) -> str:
        return "ICMP error: " + describe_error(exc)

    def _timeout(self) -> None:
        self.timer = None
        t = self.target.connect_timeout
        self._finish(Outcome(False, f"no ICMP echo reply within {t:g} s"))
