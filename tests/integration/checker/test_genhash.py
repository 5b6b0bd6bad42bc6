"""genhash against a real web server on loopback: the digest of the body, the same digest
Debian's keepalived prints for the same page, verbose output, and the error paths."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pykeepalived.actors.checker.genhash import main
from tests.integration.checker.servers import free_port

KEEPALIVED = "/usr/sbin/keepalived"
PAGE = b"<html><body>genhash test page</body></html>\n" * 50


@pytest.fixture
def web(tmp_path: Path) -> Iterator[int]:
    (tmp_path / "page.html").write_bytes(PAGE)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
         "--directory", str(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while main(["-s", "127.0.0.1", "-p", str(port), "-u", "/page.html", "-t", "1"]) != 0:
            if time.monotonic() > deadline:
                raise AssertionError("web server did not start")
            time.sleep(0.1)
        yield port
    finally:
        proc.kill()
        proc.wait()


def test_digest_of_the_body(web: int, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["-s", "127.0.0.1", "-p", str(web), "-u", "/page.html"]) == 0
    assert capsys.readouterr().out.strip() == hashlib.md5(PAGE).hexdigest()


def test_verbose_shows_the_header(web: int, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["-s", "127.0.0.1", "-p", str(web), "-u", "/page.html", "-v", "-P", "1.1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("HTTP/1.0 200") and f"[{len(PAGE)} body bytes]" in out
    assert out.strip().endswith(hashlib.md5(PAGE).hexdigest())


def test_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-s", "127.0.0.1", "-p", str(free_port()), "-u", "/"]) == 1
    assert "connection refused" in capsys.readouterr().err
    assert main(["-s", "127.0.0.1", "-u", "/", "-P", "2.0"]) == 2
    assert main(["-p", "80"]) == 2


def test_through_the_daemon_command_line(web: int) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "pykeepalived", "-T", "-s", "127.0.0.1", "-p", str(web),
         "-u", "/page.html"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == hashlib.md5(PAGE).hexdigest()


@pytest.mark.interop
@pytest.mark.skipif(not os.access(KEEPALIVED, os.X_OK), reason="Debian's keepalived not installed")
def test_same_digest_as_keepalived_genhash(web: int, capsys: pytest.CaptureFixture[str]) -> None:
    theirs = subprocess.run(
        [KEEPALIVED, "-T", "-s", "127.0.0.1", "-p", str(web), "-u", "/page.html"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    capsys.readouterr()
    assert main(["-s", "127.0.0.1", "-p", str(web), "-u", "/page.html"]) == 0
    assert capsys.readouterr().out.strip() == theirs.stdout.strip().splitlines()[-1]


@pytest.mark.interop
@pytest.mark.skipif(not os.access(KEEPALIVED, os.X_OK), reason="Debian's keepalived not installed")
@pytest.mark.parametrize("extra", [[], ["-P", "1.0c"], ["-P", "1.1", "-V", "vh.test"]])
def test_same_request_bytes_as_keepalived(extra: list[str]) -> None:
    """The GET we send is byte for byte the one keepalived's genhash sends."""
    import socket
    import threading

    lst = socket.socket()
    lst.bind(("127.0.0.1", 0))
    lst.listen(4)
    port = lst.getsockname()[1]
    seen: list[bytes] = []

    def serve() -> None:
        for _ in range(2):
            conn, _ = lst.accept()
            with conn:
                conn.settimeout(5)
                seen.append(conn.recv(4096))
                conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")

    t = threading.Thread(target=serve)
    t.start()
    args = ["-s", "127.0.0.1", "-p", str(port), "-u", "/x", *extra]
    subprocess.run([KEEPALIVED, "-T", *args], capture_output=True, timeout=30)
    assert main(args) == 0
    t.join(10)
    lst.close()
    assert len(seen) == 2 and seen[0] == seen[1], seen
