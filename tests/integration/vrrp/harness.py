"""Run the real VRRP actor shell in a lab host without the rest of the daemon.

``python -m tests.integration.vrrp.harness CONFIG.pickle WORKDIR [--dont-release]`` (run
inside a namespace with ``Host.popen``). The actor is the production ``VrrpActor``; only
the bus is replaced: ``publish`` appends each event as a JSON line (with monotonic and
wall-clock stamps) to ``WORKDIR/events.jsonl``, and the netlink actor's
``netlink.addresses.set`` is played by pyroute2 in-process (``netlink.snapshot`` is
answered with the link table read locally, as the actor does when the netlink actor is
absent);
a poller stands in for the reflector's ``netlink.link`` events (carrier changes).
SIGUSR1 writes ``status()`` to ``WORKDIR/status.json``; SIGHUP applies
``WORKDIR/reload.pickle`` as a reload (``apply_config``); SIGTERM is an orderly stop.

The python helpers at the bottom (``VrrpProc``) start it from a test and read its output.
"""

from __future__ import annotations

import asyncio
import errno
import gc
import json
import logging
import pickle
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any

from pykeepalived.actors.base import CommandError, Options
from pykeepalived.actors.vrrp.actor import VrrpActor
from pykeepalived.bus import messages as M
from pykeepalived.bus.envelope import Envelope
from pykeepalived.conf.model import Config


class HarnessActor(VrrpActor):
    def __init__(self, config: Config, options: Options, workdir: Path) -> None:
        super().__init__(config, options)
        self.workdir = workdir
        self.events = (workdir / "events.jsonl").open("a", buffering=1)
        self.ipr: Any = None

    def publish(self, type_: str, body: dict[str, Any]) -> None:
        line = {"type": type_, "mono": time.monotonic(), "ts": time.time(), "body": body}
        self.events.write(json.dumps(line) + "\n")
        self.counters[f"events.{type_}"] += 1

    async def request(self, to: str, cmd: M.Command, timeout: float = 2.0) -> M.Reply:
        if isinstance(cmd, M.NetlinkSnapshotRequest):
            from pykeepalived.actors.vrrp.io import read_links

            return await read_links()
        if not isinstance(cmd, M.AddressesSet):
            raise CommandError(f"harness: no {to} actor for {cmd.name}")
        body = cmd.to_body()
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
        self.publish("harness.addresses", {"present": body["present"], "applied": applied})
        return M.AddressesSetReply(applied, tuple(errors))


async def _reflect_links(actor: HarnessActor, interval: float = 0.02) -> None:
    """Stand in for the netlink reflector: publish ``netlink.link`` on carrier changes."""
    seen: dict[str, tuple[bool, bool]] = {}
    seq = 0
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
                    seq += 1
                    body = M.NetlinkLink(
                        ifname=ifname, ifindex=name[0], present=True, up=now[0],
                        running=now[1], operstate="UNKNOWN", mtu=0, mac=None, kind=None,
                        master=None, link=None, flags=flags,
                    ).to_body()  # fmt: skip
                    env = Envelope("netlink.link", "netlink", "", 0, seq, time.time(), body)
                    await actor.deliver_event(env)
                seen[ifname] = now
        await asyncio.sleep(interval)


async def _main(config_path: Path, workdir: Path, dont_release: bool) -> None:
    config: Config = pickle.loads(config_path.read_bytes())
    options = Options(runtime_dir=str(workdir / "run"), dont_release_vrrp=dont_release)
    actor = HarnessActor(config, options, workdir)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(
        signal.SIGUSR1,
        lambda: (workdir / "status.json").write_text(json.dumps(actor.status(), default=str)),
    )

    def reload() -> None:
        new: Config = pickle.loads((workdir / "reload.pickle").read_bytes())

        async def apply() -> None:
            await actor.apply_config(new)
            actor.config = new
            (workdir / "reloaded").write_text("1")

        actor.spawn(apply(), "reload")

    loop.add_signal_handler(signal.SIGHUP, reload)
    await actor.setup()
    gc.collect()
    gc.freeze()
    reflector = asyncio.ensure_future(_reflect_links(actor))
    (workdir / "ready").write_text("1")
    await stop.wait()
    reflector.cancel()
    await actor.shutdown()


def main() -> None:
    logging.basicConfig(
        level=logging.INFO, stream=sys.stdout, format="%(asctime)s %(name)s: %(message)s"
    )
    args = sys.argv[1:]
    asyncio.run(_main(Path(args[0]), Path(args[1]), "--dont-release" in args))


if __name__ == "__main__":
    main()
