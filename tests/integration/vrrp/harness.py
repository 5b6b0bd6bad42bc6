"""Run the real VRRP actor shell in a lab host without the rest of the daemon.

``python -m tests.integration.vrrp.harness CONFIG.pickle WORKDIR [--dont-release]`` (run
inside a namespace with ``Host.popen``). The actor is the production ``VrrpActor`` on its
real sockets; only the bus is the test seams' :class:`InMemoryBus` (as in the shell unit
tests): a tap subscribed to ``vrrp.`` appends each event as a JSON line (with monotonic and
wall-clock stamps) to ``WORKDIR/events.jsonl``, and a ``netlink`` peer answers
``netlink.snapshot`` from the kernel's link table and plays ``netlink.addresses.set`` with pyroute2;
a poller stands in for the reflector and publishes ``netlink.link`` (carrier changes) on
the bus. SIGUSR1 writes ``status()`` to ``WORKDIR/status.json``; SIGHUP sends
``WORKDIR/reload.pickle`` as the parent's ``config.apply``; SIGTERM is an orderly stop.

The python helpers in ``support.py`` (``VrrpProc``) start it from a test and read its output.
"""

from __future__ import annotations

import asyncio
import errno
import json
import logging
import pickle
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any

from pykeepalived.actors.base import Options
from pykeepalived.actors.vrrp import fsm
from pykeepalived.actors.vrrp.actor import VrrpActor
from pykeepalived.actors.vrrp.io import read_links
from pykeepalived.bus import messages as M
from pykeepalived.bus.testing import InMemoryBus, Peer
from pykeepalived.conf.model import Config
from tests.seams import ShellRun, start_shell


class KernelAddresses:
    """The netlink actor's ``netlink.addresses.set``, played with pyroute2 in this process."""

    def __init__(self) -> None:
        self.ipr: Any = None

    async def __call__(self, body: dict[str, Any]) -> dict[str, Any]:
        if self.ipr is None:
            from pyroute2 import AsyncIPRoute

            self.ipr = AsyncIPRoute()
            await self.ipr.setup_endpoint() if hasattr(self.ipr, "setup_endpoint") else None
        applied, errors = 0, []
        for item in body["addresses"]:
            ip, plen = item["address"].split("/")
            idx = socket.if_nametoindex(item["dev"])
            try:
                await self.ipr.addr("add" if body["present"] else "del", index=idx, address=ip,
                              prefixlen=int(plen))  # fmt: skip
                applied += 1
            except Exception as exc:
                code = getattr(exc, "code", None)
                if code not in (errno.EEXIST, errno.EADDRNOTAVAIL):
                    errors.append(f"{item['address']}: {exc}")
        return {"applied": applied, "errors": errors}


async def _snapshot(body: dict[str, Any]) -> dict[str, Any]:
    return (await read_links()).to_body()


async def _write_events(bus: InMemoryBus, path: Path) -> None:
    """The tap: every ``vrrp.*`` event the actor publishes, as one JSON line."""
    tap = bus.client("tap", ("vrrp.",))
    with path.open("a", buffering=1) as out:
        while True:
            env = await tap.recv_event()
            if env is not None:
                line = {"type": env.type, "mono": time.monotonic(), "ts": env.ts, "body": env.body}
                out.write(json.dumps(line) + "\n")


async def _reflect_links(netlink: Peer, interval: float = 0.02) -> None:
    """Stand in for the netlink reflector: publish ``netlink.link`` on carrier changes."""
    seen: dict[str, tuple[bool, bool]] = {}
    while True:
        for name in socket.if_nameindex():
            ifname = name[1]
            base = Path("/sys/class/net") / ifname
            try:
                flags = int((base / "flags").read_text(), 16)
                carrier = (base / "carrier").read_text().strip() == "1"
            except (OSError, ValueError):
                continue
            now = (bool(flags & 1), bool(flags & 1) and carrier)
            if seen.get(ifname) != now:
                if ifname in seen:
                    body = M.NetlinkLink(
                        ifname=ifname, ifindex=name[0], present=True, up=now[0],
                        running=now[1], operstate="UNKNOWN", mtu=0, mac=None, kind=None,
                        master=None, link=None, flags=flags,
                    ).to_body()  # fmt: skip
                    netlink.publish("netlink.link", body)
                seen[ifname] = now
        await asyncio.sleep(interval)


def _started(actor: VrrpActor, count: int) -> bool:
    runners = getattr(actor, "runners", {})
    return len(runners) == count and all(r.fsm.state is not fsm.State.INIT
                                         for r in runners.values())  # fmt: skip


async def _main(config_path: Path, workdir: Path, dont_release: bool) -> None:
    config: Config = pickle.loads(config_path.read_bytes())
    options = Options(runtime_dir=str(workdir / "run"), dont_release_vrrp=dont_release)
    bus = InMemoryBus()
    netlink = bus.peer("netlink", {"netlink.snapshot": _snapshot,
                                   "netlink.addresses.set": KernelAddresses()})  # fmt: skip
    tap = asyncio.ensure_future(_write_events(bus, workdir / "events.jsonl"))
    count = len(config.vrrp_instances)
    run = await start_shell(VrrpActor, config, bus, options, lambda a: _started(a, count))
    _signals(run, workdir)
    reflector = asyncio.ensure_future(_reflect_links(netlink))
    (workdir / "ready").write_text("1")
    await run.task  # until SIGTERM's request_stop ends the shell
    reflector.cancel()
    tap.cancel()
    bus.close()


def _signals(run: ShellRun, workdir: Path) -> None:
    loop = asyncio.get_running_loop()
    actor = run.actor
    loop.add_signal_handler(signal.SIGTERM, actor.request_stop)
    loop.add_signal_handler(
        signal.SIGUSR1,
        lambda: (workdir / "status.json").write_text(json.dumps(actor.status(), default=str)),
    )

    async def reload() -> None:
        blob = (workdir / "reload.pickle").read_bytes()
        apply = M.ConfigApply(blob, actor.generation + 1)
        reply = await run.command("config.apply", apply.to_body(), timeout=10)
        (workdir / "reloaded").write_text(json.dumps(reply, default=str))

    loop.add_signal_handler(signal.SIGHUP, lambda: actor.spawn(reload(), "reload"))


def main() -> None:
    logging.basicConfig(
        level=logging.INFO, stream=sys.stdout, format="%(asctime)s %(name)s: %(message)s"
    )
    args = sys.argv[1:]
    asyncio.run(_main(Path(args[0]), Path(args[1]), "--dont-release" in args))


if __name__ == "__main__":
    main()
