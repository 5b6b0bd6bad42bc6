"""Shared pieces for the notifier shell tests: events, recorder scripts, an in-loop SMTP
server (aiosmtpd) and a mail server that never answers. The actor's bus is a port of the
in-memory bus of ``bus/testing.py``."""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, Session
from aiosmtpd.smtp import Envelope as SmtpEnvelope

from pykeepalived.actors.base import Options
from pykeepalived.actors.notifier.actor import NotifierActor
from pykeepalived.bus.envelope import Envelope
from pykeepalived.bus.testing import InMemoryBus
from pykeepalived.conf import model as m

_seq = itertools.count(1)

#: for tests whose scripts run as root or as another user, or that chown FIFOs
needs_root = pytest.mark.skipif(
    os.geteuid() != 0,
    reason=f"runs scripts as root/other users and chowns FIFOs: needs root (uid {os.geteuid()})",
)


def event(type_: str, body: Any, src: str = "vrrp") -> Envelope:
    return Envelope(type=type_, src=src, host="h", pid=1, seq=next(_seq), ts=time.time(), body=body)


def vrrp_state(name: str, state: str, prio: int = 100, prev: str = "BACKUP") -> Envelope:
    body = {"instance": name, "vrid": 51, "family": "inet", "interface": "eth0",
            "state": state, "prev": prev, "priority": prio, "reason": "test"}  # fmt: skip
    return event("vrrp.state", body)


def check_result(vs: str, rs: str, checker: str, up: bool, proto: str = "tcp") -> Envelope:
    body = {"virtual_server": vs, "protocol": proto, "real_server": rs, "checker": checker,
            "up": up, "reason": "test", "weight": None}  # fmt: skip
    return event("check.result", body, "checker")


async def make_actor(
    config: m.Config, script_timeout: float | None = None, **options: Any
) -> NotifierActor:
    actor = NotifierActor(config, Options(runtime_dir="/nonexistent", **options))
    if script_timeout is not None:
        actor.script_timeout = script_timeout
    actor.bus = InMemoryBus().client(actor.name, actor.subscriptions, actor.counters)
    await actor.setup()
    return actor


def recorder(directory: Path, name: str, log: Path, *, sleep: float = 0.0) -> str:
    """A root-safe script appending ``<name> [arg1] [arg2]...`` to ``log`` (after ``sleep`` s)."""
    path = directory / name
    pause = f"sleep {sleep}\n" if sleep else ""
    body = f'out="{name}"\nfor a in "$@"; do out="$out [$a]"; done\necho "$out" >> {log}\n'
    path.write_text(f"#!/bin/sh\n{pause}{body}")
    path.chmod(0o755)
    return str(path)


def safe_dir(tmp_path: Path) -> Path:
    """A directory only root may write to (pytest's tmp_path is under a 0700 root dir)."""
    d = tmp_path / "scripts"
    d.mkdir(mode=0o755, exist_ok=True)
    d.chmod(0o755)
    tmp_path.chmod(0o755)
    return d


def ns(*argv: str, **kw: Any) -> m.NotifyScript:
    return m.NotifyScript(argv=argv, raw=" ".join(argv), **kw)


async def wait_for(pred: Callable[[], bool], timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not pred():
        if loop.time() > end:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


class MailSink:
    """aiosmtpd handler keeping every message with its envelope."""

    def __init__(self) -> None:
        self.messages: list[SmtpEnvelope] = []
        self.helos: list[str] = []

    async def handle_HELO(self, server: SMTP, session: Session, envelope: SmtpEnvelope,
                          hostname: str) -> str:  # fmt: skip
        self.helos.append(hostname)
        session.host_name = hostname
        return "250 test"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: SmtpEnvelope) -> str:
        self.messages.append(envelope)
        return "250 OK queued"

    def parsed(self) -> list[dict[str, str]]:
        """Each message as {header: value, "body": text, "raw": text}."""
        out = []
        for env in self.messages:
            raw = env.content.decode() if isinstance(env.content, bytes) else str(env.content)
            head, _, body = raw.partition("\r\n\r\n")
            item = {"raw": raw, "body": body, "from": env.mail_from or ""}
            item["rcpt"] = ",".join(env.rcpt_tos)
            for line in head.split("\r\n"):
                k, _, v = line.partition(": ")
                item[k] = v
            out.append(item)
        return out


async def smtp_server(sink: MailSink) -> tuple[asyncio.Server, int]:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(sink, hostname="sink.test", ident="test-sink"), "127.0.0.1", 0
    )
    return server, server.sockets[0].getsockname()[1]


async def silent_server() -> tuple[asyncio.Server, int, list[asyncio.StreamWriter]]:
    """Accepts connections and never says a word (a hung relay)."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        held.append(w)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1], held


def fifo_reader(path: str) -> int:
    return os.open(path, os.O_RDONLY | os.O_NONBLOCK)


def read_fifo(fd: int) -> str:
    chunks = []
    while True:
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            break
        if not data:
            break
        chunks.append(data)
    return b"".join(chunks).decode()
