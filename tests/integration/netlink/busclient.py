"""A minimal bus client for tests: send one command to an actor through the daemon's broker.

It connects a DEALER to the parent's ROUTER (``bus.sock``) under its own identity, the way
a child does, so the command travels exactly the path a VRRP actor's command takes.
"""

from __future__ import annotations

import itertools
import os
import time
from pathlib import Path
from typing import Any

import zmq

from pykeepalived.bus import topology
from pykeepalived.bus.envelope import REPLY_TYPE, Envelope, MalformedMessage, decode, encode


class BusClient:
    def __init__(self, runtime_dir: str | Path, name: str = "nltest") -> None:
        self.name = name
        self._ids = itertools.count(1)
        self._ctx = zmq.Context()
        self.sock = self._ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.IDENTITY, name.encode())
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect(topology.endpoint(runtime_dir, topology.BUS))

    def request(
        self, to: str, command: str, body: dict[str, Any], timeout: float = 5.0
    ) -> dict[str, Any]:
        """The reply body of one command (``{"ok": ..., "result"/"error": ...}``)."""
        msg_id = next(self._ids)
        env = Envelope(
            type=f"cmd.{command}",
            src=self.name,
            host="test",
            pid=os.getpid(),
            seq=msg_id,
            ts=time.time(),
            body=body,
            to=to,
            id=msg_id,
        )
        self.sock.send_multipart(encode(env))
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self.sock.poll(int(remaining * 1000)):
                raise TimeoutError(f"{command} to {to}: no reply within {timeout:g} s")
            try:
                reply = decode(self.sock.recv_multipart())
            except MalformedMessage:
                continue
            if reply.type == REPLY_TYPE and reply.id == msg_id:
                return reply.body

    def close(self) -> None:
        self.sock.close(0)
        self._ctx.term()
