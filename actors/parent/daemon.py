"""Running the daemon: first load, ``-d`` dump, logging, then the parent's event loop."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from pykeepalived.actors.base import EXIT_CONFIG, Options, set_process_title
from pykeepalived.actors.logs import setup_logging
from pykeepalived.actors.parent.actor import Parent, load_config

log = logging.getLogger("pykeepalived.parent")


def run_daemon(options: Options, args: argparse.Namespace | None = None) -> int:
    set_process_title("parent")
    setup_logging("parent", options)
    return asyncio.run(_main(options))


async def _main(options: Options) -> int:
    try:
        result = await load_config(options.config_file, options.config_id)
    except Exception as exc:
        log.error("cannot load %s: %s", options.config_file, exc)
        return EXIT_CONFIG
    for diag in result.diagnostics:
        (log.error if diag.severity == "error" else log.warning)("%s", diag)
    if result.config is None:
        log.error("configuration %s has errors: not starting", options.config_file)
        return EXIT_CONFIG
    if options.dump_conf:
        from pykeepalived.conf.dump import dump_text

        for line in dump_text(result.config).splitlines():
            log.info("%s", line)
    parent = Parent(options, result.config)
    code = await parent.run()
    sys.stdout.flush()
    return code
