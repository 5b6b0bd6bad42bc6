"""The configuration test the command line runs (``pykeepalived -t[FILE]``), and ``-d``.

This is an I/O shell around :func:`pykeepalived.conf.load`: it reads the interface
names of the current network namespace (as keepalived checks them), prints the
diagnostics the way keepalived does, and returns keepalived's exit code.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TextIO

from pykeepalived.conf.diagnostics import LoadResult
from pykeepalived.conf.dump import dump_text
from pykeepalived.conf.loader import load


def current_interfaces() -> frozenset[str] | None:
    """Interface names of this network namespace (None when they cannot be read)."""
    try:
        return frozenset(os.listdir("/sys/class/net"))
    except OSError:
        return None


def print_diagnostics(result: LoadResult, out: TextIO) -> None:
    for d in result.diagnostics:
        prefix = ""
        if d.advisory:
            prefix = "pykeepalived: "
        print(prefix + d.format(), file=out)


def config_test(
    path: str | Path,
    config_id: str | None = None,
    out_file: str | Path | None = None,
) -> int:
    """``-t``: load ``path``, print the diagnostics (to ``out_file`` if given, else
    stderr), return keepalived 2.2.7's exit code (0 clean, 5 errors, 6 script security)."""
    result = load(path, config_id=config_id, interfaces=current_interfaces())
    if out_file is not None:
        with open(out_file, "w") as fh:
            print_diagnostics(result, fh)
    else:
        print_diagnostics(result, sys.stderr)
    return result.exit_code


def dump_config(path: str | Path, config_id: str | None = None, out: TextIO | None = None) -> int:
    """``-d``: print the resolved configuration; returns the ``-t`` exit code."""
    result = load(path, config_id=config_id, interfaces=current_interfaces())
    stream = out if out is not None else sys.stdout
    print_diagnostics(result, sys.stderr)
    if result.config is not None:
        stream.write(dump_text(result.config))
    return result.exit_code


def main(argv: list[str] | None = None) -> int:
    """``python -m pykeepalived.conf.cli [-i ID] [-d] FILE``: a stand-alone checker."""
    import argparse

    p = argparse.ArgumentParser(prog="pykeepalived-conf", description="check a keepalived.conf")
    p.add_argument("file")
    p.add_argument("-i", "--config-id", default=None)
    p.add_argument("-d", "--dump", action="store_true", help="dump the resolved configuration")
    args = p.parse_args(argv)
    if args.dump:
        return dump_config(args.file, args.config_id)
    return config_test(args.file, args.config_id)


if __name__ == "__main__":
    raise SystemExit(main())
