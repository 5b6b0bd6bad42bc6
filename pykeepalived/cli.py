"""``pykeepalived``: the daemon's command line, with keepalived's options and meanings.

Every keepalived option is recognised. Those whose feature pykeepalived lacks (SNMP, core
dump patterns, perf, ...) exit 1 with a message that says so, rather than being ignored.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import resource
import signal
import sys
from collections.abc import Sequence

from pykeepalived import __version__
from pykeepalived.actors.base import Options
from pykeepalived.actors.logs import parse_facility

DEFAULT_CONFIG = "/etc/keepalived/keepalived.conf"
DEFAULT_RUNTIME_DIR = "/run/pykeepalived"

#: --signum names, as keepalived's get_signum
SIGNUMS = {
    "STOP": signal.SIGTERM,
    "RELOAD": signal.SIGHUP,
    "DATA": signal.SIGUSR1,
    "STATS": signal.SIGUSR2,
    "STATS_CLEAR": signal.SIGRTMAX - 1,
    "JSON": signal.SIGRTMIN + 2,
    "TDUMP": signal.SIGRTMAX,
}

#: keepalived options whose features pykeepalived does not have
UNSUPPORTED = {
    "snmp": "SNMP (-x/--snmp) is not supported by pykeepalived; use the event tap or metrics",
    "snmp_agent_socket": "SNMP (-A/--snmp-agent-socket) is not supported by pykeepalived",
    "core_dump_pattern": "-M/--core-dump-pattern is not supported by pykeepalived",
    "perf": "--perf is a keepalived build option that pykeepalived does not have",
    "debug": "--debug is a keepalived build option that pykeepalived does not have",
    "no_mem_check": "--no-mem-check belongs to keepalived's memory-check builds; "
    "pykeepalived's equivalent is --mem-check (off by default)",
    "mem_check_log": "-L/--mem-check-log belongs to keepalived's memory-check builds",
    "openssl_mem_check": "--openssl-mem-check belongs to keepalived's memory-check builds",
    "log_file": "-g/--log-file is not supported by pykeepalived; use syslog or -l",
    "flush_log_file": "--flush-log-file is not supported by pykeepalived",
    "config_fd": "--config-fd is internal to keepalived's reload check",
}

#: keepalived options pykeepalived accepts without acting on them: said at start
IGNORED = {
    "release_vips": "-X/--release-vips is accepted but not implemented by pykeepalived "
    "(VIPs are not dropped on transitions caused by a signal)",
    "all_config": "-e/--all-config is accepted but not implemented by pykeepalived "
    "(a missing included file is not an error; write includet for that)",
    "all": "--all is accepted but not implemented by pykeepalived "
    "(a child starts only when the configuration has work for it)",
}


def ignored_options(args: argparse.Namespace) -> list[str]:
    """The warnings for options given on the command line that pykeepalived ignores."""
    return [message for key, message in IGNORED.items() if getattr(args, key, False)]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="pykeepalived",
        description="keepalived in Python: VRRP failover and LVS health checking.",
    )
    a = p.add_argument
    a("-f", "--use-file", metavar="FILE", default=DEFAULT_CONFIG, help="configuration file")
    a("-P", "--vrrp", action="store_true", help="only run the VRRP subsystem")
    a("-C", "--check", action="store_true", help="only run the health-checker subsystem")
    a("-B", "--no_bfd", action="store_true", help="don't run BFD (pykeepalived has no BFD child)")
    a("--all", action="store_true", help="start all children even without configuration")
    a("-l", "--log-console", action="store_true", help="log to the console")
    a("-D", "--log-detail", action="count", default=0, help="detailed logging")
    a("-S", "--log-facility", metavar="FACILITY", default="daemon", help="syslog facility")
    a("-g", "--log-file", nargs="?", const="", default=None, help=argparse.SUPPRESS)
    a("--flush-log-file", action="store_true", help=argparse.SUPPRESS)
    a("-G", "--no-syslog", action="store_true", help="don't log through syslog")
    a("-u", "--umask", metavar="MASK", help="umask for created files")
    a("-X", "--release-vips", action="store_true", help="drop VIPs on reload transitions")
    a("-V", "--dont-release-vrrp", action="store_true", help="leave VIPs/routes on stop")
    a("-I", "--dont-release-ipvs", action="store_true", help="leave the LB table on stop")
    a("-R", "--dont-respawn", action="store_true", help="don't restart children")
    a("-n", "--dont-fork", action="store_true", help="stay in the foreground")
    a("-d", "--dump-conf", action="store_true", help="dump the parsed configuration")
    a("-p", "--pid", metavar="FILE", default="/run/keepalived.pid", help="parent pid file")
    a("-r", "--vrrp_pid", metavar="FILE", default="/run/vrrp.pid", help="VRRP child pid file")
    a("-c", "--checkers_pid", metavar="FILE", default="/run/checkers.pid", help="checker pid file")
    a("-b", "--bfd_pid", metavar="FILE", help="BFD pid file (no BFD child in pykeepalived)")
    a("-T", "--genhash", action="store_true", help="act as genhash (must be the first option)")
    a("-a", "--address-monitoring", action="store_true", help="log every address change")
    a("-x", "--snmp", action="store_true", help=argparse.SUPPRESS)
    a("-A", "--snmp-agent-socket", metavar="FILE", help=argparse.SUPPRESS)
    a("-s", "--namespace", metavar="NAME", help="run in this network namespace")
    a("-m", "--core-dump", action="store_true", help="raise RLIMIT_CORE")
    a("-M", "--core-dump-pattern", nargs="?", const="core", default=None, help=argparse.SUPPRESS)
    a(
        "-e",
        "--all-config",
        action="store_true",
        help="error if a configuration file is missing (not implemented)",
    )
    a("-i", "--config-id", metavar="ID", help="id for @ conditional config lines")
    a("--signum", metavar="SIGFUNC", help="print the signal number of SIGFUNC and exit")
    a("-t", "--config-test", nargs="?", const="", default=None, metavar="FILE",
      help="check the configuration and exit; messages to FILE (default stderr)")  # fmt: skip
    a("--config-fd", type=int, help=argparse.SUPPRESS)
    a("--ignore-sigint", action="store_true", help="ignore SIGINT")
    a("--perf", nargs="?", const="all", default=None, help=argparse.SUPPRESS)
    a("--debug", nargs="?", const="", default=None, help=argparse.SUPPRESS)
    a("--no-mem-check", action="store_true", help=argparse.SUPPRESS)
    a("-L", "--mem-check-log", action="store_true", help=argparse.SUPPRESS)
    a("--openssl-mem-check", action="store_true", help=argparse.SUPPRESS)
    a("-v", "--version", action="store_true", help="print the version and exit")
    # pykeepalived additions (docs/ARCHITECTURE.md §7)
    a("--mem-check", action="store_true", help="per-actor allocation tracking (tracemalloc)")
    a("--runtime-dir", metavar="DIR", default=DEFAULT_RUNTIME_DIR,
      help="bus, tap and control sockets (default %(default)s)")  # fmt: skip
    a("--lb-backend", choices=("auto", "ipvs", "nftables", "dry-run"), help="load-balancer backend")
    a("--event-tap", metavar="ENDPOINT", help="extra TCP endpoint for the event tap")
    a("--metrics", metavar="ADDR:PORT", help="Prometheus metrics endpoint")
    a("--watchdog-interval", type=float, metavar="SECONDS", help="seconds between hello pings")
    return p


def options_from_args(args: argparse.Namespace) -> Options:
    return Options(
        config_file=args.use_file,
        runtime_dir=args.runtime_dir,
        namespace=args.namespace,
        dont_release_vrrp=args.dont_release_vrrp,
        dont_release_ipvs=args.dont_release_ipvs,
        dont_respawn=args.dont_respawn,
        dont_fork=args.dont_fork,
        log_console=args.log_console,
        log_detail=args.log_detail,
        log_facility=args.log_facility,
        no_syslog=args.no_syslog,
        ignore_sigint=args.ignore_sigint,
        address_monitoring=args.address_monitoring,
        lb_backend=args.lb_backend,
        event_tap=args.event_tap,
        metrics=args.metrics,
        watchdog_interval=args.watchdog_interval,
        config_id=args.config_id,
        mem_check=args.mem_check,
        vrrp_only=args.vrrp,
        check_only=args.check,
        dump_conf=args.dump_conf,
        pid_file=args.pid,
        vrrp_pid_file=args.vrrp_pid,
        checkers_pid_file=args.checkers_pid,
    )


def default_config_id() -> str:
    """keepalived's default config id: the host name up to the first dot."""
    return os.uname().nodename.split(".", 1)[0]


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("-T", "--genhash"):
        from pykeepalived.actors.checker.genhash import main as genhash_main

        return genhash_main(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        print(f"pykeepalived {__version__} (keepalived 2.2.7 compatible configuration)")
        return 0
    if args.signum is not None:
        sig = SIGNUMS.get(args.signum.upper())
        if sig is None:
            print(f"Unknown sigfunc {args.signum}", file=sys.stderr)
            return 1
        print(int(sig))
        return 0
    for key, message in UNSUPPORTED.items():
        value = getattr(args, key)
        if value not in (None, False):
            print(f"pykeepalived: {message}", file=sys.stderr)
            return 1
    if args.vrrp and args.check:
        # keepalived: -P and -C together mean "neither subsystem is excluded"
        args.vrrp = args.check = False
    config_id = args.config_id or default_config_id()
    if args.config_test is not None:
        from pykeepalived.conf.cli import config_test

        for message in ignored_options(args):
            print(f"pykeepalived: {message}", file=sys.stderr)

        return config_test(args.use_file, config_id, args.config_test or None)
    if args.umask:
        try:
            os.umask(int(args.umask, 0))
        except ValueError:
            print(f"pykeepalived: invalid umask {args.umask!r}", file=sys.stderr)
            return 1
    if args.core_dump:
        resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    try:
        parse_facility(args.log_facility)
    except ValueError as exc:
        print(f"pykeepalived: {exc}", file=sys.stderr)
        return 1
    if args.namespace:
        from pykeepalived.actors.parent.netns import enter_namespace

        enter_namespace(args.namespace)
    for message in ignored_options(args):
        print(f"pykeepalived: {message}", file=sys.stderr)
    options = dataclasses.replace(options_from_args(args), config_id=config_id)
    from pykeepalived.actors.parent.daemon import run_daemon

    return run_daemon(options, args)


if __name__ == "__main__":
    raise SystemExit(main())
