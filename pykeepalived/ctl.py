"""``pykeepalivectl``: talk to a running pykeepalived over its runtime directory.

``status [--json]``, ``reload``, ``stop`` and ``dump [--json]`` are commands on the control
socket (``control.sock``, see ``actors/parent/services.py``); ``tap [--json] [PREFIX...]``
subscribes to the event tap (``tap.sock``) and prints events as they come.

Exit codes: 0 success, 1 the daemon refused or failed the command (for ``reload``: the new
configuration was rejected and the old one keeps running), 2 usage, 3 no daemon answered.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from typing import Any

import zmq

from pykeepalived.actors.parent import report
from pykeepalived.bus import messages as M
from pykeepalived.bus import topology
from pykeepalived.bus.envelope import REPLY_TYPE, Envelope, MalformedMessage, decode, encode

DEFAULT_RUNTIME_DIR = "/run/pykeepalived"
EXIT_FAILED = 1
EXIT_NO_DAEMON = 3


class NoDaemon(RuntimeError):
    pass


class CommandRefused(RuntimeError):
    pass


def call(runtime_dir: str, cmd: M.Command, timeout: float = 10.0) -> dict[str, Any]:
    """Send one control command and return the reply's result (checked by the catalogue)."""
    path = topology.socket_path(runtime_dir, topology.CONTROL)
    if not path.exists():
        raise NoDaemon(f"no pykeepalived control socket at {path} (is the daemon running?)")
    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    try:
        sock.connect(topology.endpoint(runtime_dir, topology.CONTROL))
        env = Envelope(
            type=cmd.TYPE, src="ctl", host=os.uname().nodename, pid=os.getpid(),
            seq=1, ts=time.time(), body=cmd.to_body(), to="parent", id=1,
        )  # fmt: skip
        sock.send_multipart(encode(env))
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not sock.poll(int(remaining * 1000)):
                raise NoDaemon(f"no answer from the daemon at {path} within {timeout:g} s")
            try:
                reply = decode(sock.recv_multipart())
            except MalformedMessage:
                continue
            if reply.type == REPLY_TYPE and reply.id == 1:
                break
    finally:
        sock.close(0)
        ctx.term()
    try:
        return M.read_reply(cmd, reply.body).to_body()
    except M.CommandRefused as exc:
        raise CommandRefused(str(exc)) from None
    except M.InvalidBody as exc:
        raise CommandRefused(
            f"the daemon's reply does not fit {cmd.REPLY.__name__}: {exc}"
        ) from None


def format_event(env: Envelope) -> str:
    stamp = time.strftime("%H:%M:%S", time.localtime(env.ts)) + f".{int(env.ts * 1000) % 1000:03d}"
    body = " ".join(f"{k}={_short(v)}" for k, v in env.body.items())
    return f"{stamp} {env.host} {env.src}[{env.pid}] {env.type} {body}"


def _short(value: Any) -> str:
    if isinstance(value, str):
        return value if value and " " not in value else json.dumps(value)
    return json.dumps(value, default=str, separators=(",", ":"))


def tap(runtime_dir: str, prefixes: Sequence[str], as_json: bool,
        count: int | None = None, timeout: float | None = None) -> int:  # fmt: skip
    """Print events from the tap until interrupted (or ``count`` events / ``timeout`` s)."""
    path = topology.socket_path(runtime_dir, topology.TAP)
    if not path.exists():
        print(f"pykeepalivectl: no event tap at {path} (is the daemon running?)", file=sys.stderr)
        return EXIT_NO_DAEMON
    ctx = zmq.Context()
    sock = ctx.socket(zmq.SUB)
    sock.setsockopt(zmq.LINGER, 0)
    for prefix in prefixes or [""]:
        sock.setsockopt(zmq.SUBSCRIBE, prefix.encode())
    sock.connect(topology.endpoint(runtime_dir, topology.TAP))
    seen = 0
    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        while count is None or seen < count:
            wait = 1000 if deadline is None else int(max(0, deadline - time.monotonic()) * 1000)
            if deadline is not None and wait <= 0:
                break
            if not sock.poll(wait):
                continue
            try:
                env = decode(sock.recv_multipart())
            except MalformedMessage:
                continue
            line = json.dumps(env.as_dict(), default=str) if as_json else format_event(env)
            print(line, flush=True)
            seen += 1
    except KeyboardInterrupt:
        pass
    except BrokenPipeError:
        # the reader went away (| head): leave quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    finally:
        sock.close(0)
        ctx.term()
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="pykeepalivectl", description="Control a pykeepalived daemon.")
    p.add_argument("--runtime-dir", default=DEFAULT_RUNTIME_DIR,
                   help="the daemon's --runtime-dir (default %(default)s)")  # fmt: skip
    p.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for an answer")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("status", help="instances, virtual servers and processes")
    s.add_argument("--json", action="store_true")
    t = sub.add_parser("tap", help="stream events from the event tap")
    t.add_argument("--json", action="store_true", help="one JSON object a line")
    t.add_argument("--count", type=int, help="stop after this many events")
    t.add_argument("--for", dest="duration", type=float, help="stop after this many seconds")
    t.add_argument("prefixes", nargs="*", metavar="TYPE-PREFIX")
    sub.add_parser("reload", help="reload the configuration (as SIGHUP), report the outcome")
    sub.add_parser("stop", help="stop the daemon (as SIGTERM)")
    d = sub.add_parser("dump", help="the data dump (SIGUSR1); --json: the JSON dump")
    d.add_argument("--json", action="store_true")
    sub.add_parser("stats", help="the statistics dump (SIGUSR2)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    rd = args.runtime_dir
    try:
        if args.command == "tap":
            return tap(rd, args.prefixes, args.json, args.count, args.duration)
        if args.command == "status":
            status = call(rd, M.ControlStatus(), timeout=args.timeout)
            print(report.to_json(status) if args.json else report.format_status(status), end="")
            if args.json:
                print()
            return 0
        if args.command == "reload":
            result = call(rd, M.ControlReload(), timeout=max(args.timeout, 70.0))
            if result.get("ok"):
                print(f"reloaded: configuration generation {result.get('generation')}")
                return 0
            print("reload failed; the running configuration is kept:", file=sys.stderr)
            for error in result.get("errors", []):
                print(f"  {error}", file=sys.stderr)
            return EXIT_FAILED
        if args.command == "stop":
            result = call(rd, M.ControlStop(), timeout=args.timeout)
            print(f"stopping pykeepalived (pid {result.get('pid')})")
            return 0
        if args.command == "dump":
            result = call(rd, M.ControlDump(json=args.json), timeout=args.timeout)
            if args.json:
                print(json.dumps(result.get("instances", []), indent=2, default=str))
            else:
                print(result.get("text", ""), end="")
            return 0
        if args.command == "stats":
            print(call(rd, M.ControlStats(), timeout=args.timeout).get("text", ""), end="")
            return 0
    except NoDaemon as exc:
        print(f"pykeepalivectl: {exc}", file=sys.stderr)
        return EXIT_NO_DAEMON
    except CommandRefused as exc:
        print(f"pykeepalivectl: {args.command} failed: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except ValueError as exc:  # e.g. a runtime dir too long for a socket path
        print(f"pykeepalivectl: {exc}", file=sys.stderr)
        return 2
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
