"""Running the daemon: pid files, daemonising, first load, ``-d`` dump, then the parent loop.

Order matters: the pid files are locked and the process daemonises before anything starts
threads or sockets (no zmq context, no asyncio loop, no forkserver exists yet), so the
fork is clean and a second daemon is refused on the terminal it was started from.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import tracemalloc
from typing import TYPE_CHECKING

from pykeepalived.actors.base import EXIT_CONFIG, EXIT_FATAL, Options, set_process_title
from pykeepalived.actors.logs import setup_logging
from pykeepalived.actors.parent.actor import Parent, load_config, log_diagnostics
from pykeepalived.actors.parent.pidfile import PidFileLocked
from pykeepalived.actors.parent.sdnotify import SdNotifier
from pykeepalived.actors.parent.services import DaemonPidFiles, Services

if TYPE_CHECKING:
    from pykeepalived.conf.model import Config

log = logging.getLogger("pykeepalived.parent")


def daemonize() -> None:
    """The classic double fork: no controlling terminal, not a session leader, cwd /."""
    if os.fork() > 0:
        os._exit(0)
    os.setsid()
    if os.fork() > 0:
        os._exit(0)
    os.chdir("/")
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    if devnull > 2:
        os.close(devnull)


def run_daemon(options: Options, args: argparse.Namespace | None = None) -> int:
    pid_files = DaemonPidFiles(options)
    try:
        pid_files.acquire()
    except PidFileLocked as exc:
        print(f"pykeepalived: {exc}", file=sys.stderr)
        return EXIT_FATAL
    except OSError as exc:
        print(f"pykeepalived: cannot create pid file: {exc}", file=sys.stderr)
        return EXIT_FATAL
    if not options.dont_fork:
        daemonize()
    set_process_title("parent")
    setup_logging("parent", options)
    notifier = SdNotifier.from_environment()
    try:
        return asyncio.run(_main(options, pid_files, notifier))
    finally:
        pid_files.release_all()


async def first_load(options: Options, notifier: SdNotifier) -> Config | None:
    """Parse the configuration at start and log what the parse reported (every
    diagnostic once, with file and line); None when there is nothing to run."""
    try:
        result = await load_config(options.config_file, options.config_id)
    except Exception as exc:
        log.error("cannot load %s: %s", options.config_file, exc)
        notifier.notify(STATUS=f"cannot load {options.config_file}", ERRNO=22)
        return None
    log_diagnostics(result.diagnostics)
    if result.config is None:
        log.error("configuration %s has errors: not starting", options.config_file)
        notifier.notify(STATUS=f"configuration {options.config_file} unusable", ERRNO=22)
        return None
    if options.vrrp_only and result.config.global_defs.lvs_sync_daemon is not None:
        # keepalived drives the sync daemon from its VRRP process; pykeepalived from the
        # ipvs actor, which only runs with the checker side
        log.warning("lvs_sync_daemon is not started with -P/--vrrp: pykeepalived runs it "
                    "with the load balancer (without -P)")  # fmt: skip
    if options.dump_conf:
        from pykeepalived.conf.dump import dump_text

        for line in dump_text(result.config).splitlines():
            log.info("%s", line)
    return result.config


async def _main(options: Options, pid_files: DaemonPidFiles, notifier: SdNotifier) -> int:
    config = await first_load(options, notifier)
    if config is None:
        return EXIT_CONFIG
    parent = Parent(options, config)
    if options.mem_check:
        # started after the first load: tracing slows imports and unpickling severalfold
        tracemalloc.start(1)
        parent.mem_baseline = tracemalloc.take_snapshot()
    Services(parent, pid_files, notifier)
    code = await parent.run()
    sys.stdout.flush()
    return code
