"""Pid-file locks, sd_notify messages, the metrics listen syntax and the command line."""

from __future__ import annotations

import os
import signal
import socket
from pathlib import Path

import pytest

from pykeepalived import cli
from pykeepalived.actors.base import Options
from pykeepalived.actors.parent import pidfile, policy, sdnotify
from pykeepalived.actors.parent.services import DaemonPidFiles, parse_listen


def test_pid_file_lock_refuses_a_second_holder(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "k.pid"
    first = pidfile.PidFile(path)
    first.acquire()
    first.write(4242)
    assert path.read_text() == "4242\n"
    # OFD locks conflict between open file descriptions, even in one process
    second = pidfile.PidFile(path)
    with pytest.raises(pidfile.PidFileLocked) as info:
        second.acquire()
    assert "already running" in str(info.value) and "4242" in str(info.value)
    assert pidfile.holder_pid(path) == 4242
    assert not pidfile.remove_stale(path)
    first.clear()
    assert path.read_text() == ""
    first.release()
    assert not path.exists() and pidfile.holder_pid(path) is None
    second.acquire()  # free again
    second.write(7)
    second.release()


def test_stale_pid_file_is_removed_and_does_not_block(tmp_path: Path) -> None:
    path = tmp_path / "old.pid"
    path.write_text("99999\n")
    assert pidfile.holder_pid(path) is None
    holder = pidfile.PidFile(path)
    holder.acquire()  # nobody holds the lock: a stale file never blocks
    holder.release()
    path.write_text("1\n")
    assert pidfile.remove_stale(path) and not path.exists()
    assert not pidfile.remove_stale(path)


def test_daemon_pid_files_follow_the_subsystems(tmp_path: Path) -> None:
    opts = Options(pid_file=str(tmp_path / "m.pid"), vrrp_pid_file=str(tmp_path / "v.pid"),
                   checkers_pid_file=str(tmp_path / "c.pid"), vrrp_only=True,
                   runtime_dir=str(tmp_path / "run"))  # fmt: skip
    files = DaemonPidFiles(opts)
    files.acquire()  # -P: the checker's file is not taken
    assert files.main.held and files.children["vrrp"].held
    assert not files.children["checker"].held
    # a second daemon with its own pid files but the same runtime dir is refused
    other = DaemonPidFiles(Options(pid_file=str(tmp_path / "m2.pid"),
                                   vrrp_pid_file=str(tmp_path / "v2.pid"),
                                   checkers_pid_file=str(tmp_path / "c2.pid"),
                                   runtime_dir=str(tmp_path / "run")))  # fmt: skip
    with pytest.raises(pidfile.PidFileLocked, match=r"pykeepalived\.pid"):
        other.acquire()
    assert pidfile.holder_pid(tmp_path / "m2.pid") is None
    (tmp_path / "c.pid").write_text("5\n")
    files.sync({"vrrp", "netlink"})
    assert not (tmp_path / "c.pid").exists()
    files.sync({"netlink"})  # vrrp no longer runs after a reload
    assert not (tmp_path / "v.pid").exists()
    files.release_all()
    assert not (tmp_path / "m.pid").exists()
    # a refused acquire releases what it took
    blocker = pidfile.PidFile(tmp_path / "c.pid")
    blocker.acquire()
    files = DaemonPidFiles(Options(pid_file=str(tmp_path / "m.pid"),
                                   vrrp_pid_file=str(tmp_path / "v.pid"),
                                   checkers_pid_file=str(tmp_path / "c.pid"),
                                   runtime_dir=str(tmp_path / "run")))  # fmt: skip
    with pytest.raises(pidfile.PidFileLocked):
        files.acquire()
    assert not files.main.held and pidfile.holder_pid(tmp_path / "m.pid") is None
    blocker.release()


def test_sd_notify_messages_and_environment(tmp_path: Path) -> None:
    assert sdnotify.parse_address("@abs") == b"\0abs"
    assert sdnotify.parse_address("/run/x") == "/run/x"
    assert sdnotify.format_message(READY=1, STATUS="ok") == b"READY=1\nSTATUS=ok"
    with pytest.raises(ValueError):
        sdnotify.format_message(STATUS="a\nb")
    assert sdnotify.watchdog_period({"WATCHDOG_USEC": "3000000"}, 5) == 1.5
    assert sdnotify.watchdog_period({"WATCHDOG_USEC": "3000000", "WATCHDOG_PID": "6"}, 5) is None
    assert sdnotify.watchdog_period({"WATCHDOG_USEC": "0"}, 5) is None
    assert sdnotify.watchdog_period({}, 5) is None

    path = tmp_path / "n.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(str(path))
    server.settimeout(2)
    env = {"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "2000000", "OTHER": "x"}
    notifier = sdnotify.SdNotifier.from_environment(env)
    assert env == {"OTHER": "x"}  # removed: children never inherit them
    assert notifier.enabled and notifier.watchdog == 1.0
    assert notifier.ready("up")
    assert server.recv(100) == f"READY=1\nSTATUS=up\nMAINPID={os.getpid()}".encode()
    assert notifier.reloading()
    assert server.recv(100).startswith(b"RELOADING=1\nSTATUS=")
    assert notifier.ping() and server.recv(100) == b"WATCHDOG=1"
    assert notifier.stopping() and server.recv(100).startswith(b"STOPPING=1")
    server.close()
    assert not notifier.ping() and notifier.errors == 1  # the socket went away: counted
    notifier.close()
    off = sdnotify.SdNotifier.from_environment({})
    assert not off.enabled and not off.ready("x")


def test_parse_listen() -> None:
    assert parse_listen("127.0.0.1:9650") == ("127.0.0.1", 9650)
    assert parse_listen("[::1]:9650") == ("::1", 9650)
    assert parse_listen(":9") == ("0.0.0.0", 9)
    assert parse_listen("tcp://127.0.0.1:1") == ("127.0.0.1", 1)
    for bad in ("127.0.0.1", "x:y", "h:70000", "h:0"):
        with pytest.raises(ValueError):
            parse_listen(bad)


def test_backoff_is_keepalived_s() -> None:
    b = policy.Backoff()
    assert [b.next_delay(1) for _ in range(10)] == [0, 1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert b.next_delay(61) == 0 and b.next_delay(1) == 1


def test_cli_signum_unsupported_and_bad_values(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--signum=JSON"]) == 0
    assert capsys.readouterr().out.strip() == str(int(signal.SIGRTMIN + 2))
    assert cli.main(["--signum", "reload"]) == 0
    assert capsys.readouterr().out.strip() == str(int(signal.SIGHUP))
    assert cli.main(["--signum=NOPE"]) == 1
    assert "Unknown sigfunc" in capsys.readouterr().err
    assert cli.main(["-x"]) == 1
    assert "SNMP" in capsys.readouterr().err
    assert cli.main(["-u", "zz", "-f", "/nonexistent"]) == 1
    assert "invalid umask" in capsys.readouterr().err
    assert cli.main(["-S", "local9", "-f", "/nonexistent"]) == 1
    assert "invalid log facility" in capsys.readouterr().err


def test_cli_options_reach_the_runtime() -> None:
    args = cli.build_parser().parse_args(
        ["-G", "--ignore-sigint", "-n", "-P", "-p", "/x/p", "--metrics", "127.0.0.1:1"]
    )
    opts = cli.options_from_args(args)
    assert opts.no_syslog and opts.ignore_sigint and opts.dont_fork and opts.vrrp_only
    assert opts.pid_file == "/x/p" and opts.metrics == "127.0.0.1:1"


def test_systemd_unit_ships_as_package_data() -> None:
    from importlib import resources

    unit = resources.files("pykeepalived").joinpath("data/pykeepalived.service").read_text()
    lines = {line.split("=", 1)[0]: line.split("=", 1)[1] for line in unit.splitlines()
             if "=" in line and not line.startswith("#")}  # fmt: skip
    assert lines["Type"] == "notify" and lines["KillMode"] == "process"
    assert "--dont-fork" in lines["ExecStart"] and lines["ExecStart"].startswith("pykeepalived ")
    assert lines["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert lines["PIDFile"] == "/run/keepalived.pid"
    assert "WatchdogSec" in lines and "[Install]" in unit


def test_logging_options(capsys: pytest.CaptureFixture[str]) -> None:
    import logging

    from pykeepalived.actors.logs import setup_logging

    root = logging.getLogger("pykeepalived")
    try:
        setup_logging("vrrp", Options(log_console=True, log_detail=1, no_syslog=True))
        assert root.level == logging.DEBUG
        assert [type(h) for h in root.handlers] == [logging.StreamHandler]
        logging.getLogger("pykeepalived.vrrp").info("(VI_1) Entering MASTER STATE")
        err = capsys.readouterr().err
        assert f"pykeepalived_vrrp[{os.getpid()}]: (VI_1) Entering MASTER STATE" in err
        # -G without -l: nowhere to log, and nothing falls back to the console
        setup_logging("parent", Options(no_syslog=True))
        assert root.level == logging.INFO
        assert [type(h) for h in root.handlers] == [logging.NullHandler]
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
