"""Real-world style configurations (tests/data/realworld/, each naming the kind of source it
imitates) run through Debian's ``keepalived -t`` and ``pykeepalived -t`` in a namespace with
eth0..eth2: the same exit code, every line keepalived flags flagged by us too with
keepalived's wording (our additions may follow), and no message of ours printed twice.

Differences not fixed are listed in :data:`EXPECTED` with their reason; an entry that no
longer differs fails the test, so the table stays true.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.conf.conftest import Namespace

pytestmark = [pytest.mark.netns]

CORPUS = Path(__file__).resolve().parents[2] / "data" / "realworld"
FILES = sorted(p.name for p in CORPUS.glob("*.conf"))
# keepalived: "(FILE: Line N) msg" for most blocks, "(Line N) msg" inside global_defs
_KA = re.compile(r"^\((?:(?P<file>[^()]*): )?Line (?P<line>\d+)\) (?P<msg>.*)$")
_OURS = re.compile(r"^(?:pykeepalived: )?\((?P<file>[^()]*): Line (?P<line>\d+)\) (?P<msg>.*)$")

#: file -> what still differs and why. "exit": (keepalived's, ours); "missed": the
#: keepalived messages (line, text) we do not print there.
EXPECTED: dict[str, dict[str, object]] = {
    "debian_script_user_nobody.conf": {
        "exit": (-15, 0),
        "reason": "keepalived 2.2.7's -t is killed by SIGTERM as soon as a script is to run "
        "as a non-root user (script_user nobody, or a vrrp_script 'user'); there is no verdict "
        "to copy, pykeepalived accepts the file",
    },
    "docker_alpine_newer_keywords.conf": {
        "exit": (5, 0),
        "reason": "deliberate: timer_expired_backup is a keepalived 2.4 keyword pykeepalived "
        "reads; the line is flagged with 2.2.7's words as advice only (conf/keywords/newer.py)",
    },
}


def keepalived_messages(path: Path, output: str) -> list[tuple[int, str]]:
    """keepalived's messages in order (with repeats: it reads the top level once per
    process, and says some things once per brace)."""
    out: list[tuple[int, str]] = []
    for raw in output.splitlines():
        m = _KA.match(raw)
        if m is None:
            if raw.strip():
                out.append((0, raw.strip()))
        elif m["file"] in (None, str(path)):
            out.append((int(m["line"]), m["msg"].strip()))
    return out


def our_messages(path: Path, output: str) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    for raw in output.splitlines():
        m = _OURS.match(raw)
        if m is None:
            out.append((0, raw.removeprefix("pykeepalived: ").strip()))
        elif m["file"] == str(path):
            out.append((int(m["line"]), m["msg"].strip()))
    return out


def _per_pass(theirs: list[tuple[int, str]], msg: tuple[int, str]) -> int:
    """How often keepalived says ``msg`` in a row (one reading of the file)."""
    best = run = 0
    for m in theirs:
        run = run + 1 if m == msg else 0
        best = max(best, run)
    return best


def pykeepalived_test(ns: Namespace, path: Path) -> tuple[int, str]:
    argv = ["ip", "netns", "exec", ns.name, sys.executable, "-m", "pykeepalived"]
    proc = subprocess.run(
        [*argv, "-t", "-f", str(path), "-i", "pyk"], capture_output=True, text=True, timeout=60
    )
    return proc.returncode, proc.stdout + proc.stderr


def missed(theirs: list[tuple[int, str]], ours: list[tuple[int, str]]) -> set[tuple[int, str]]:
    """keepalived's messages with no message of ours containing their text (at their line
    when they name one)."""
    return {
        (line, text)
        for line, text in theirs
        if not any(text in msg and (line == 0 or line == ol) for ol, msg in ours)
    }


@pytest.mark.parametrize("name", FILES)
def test_realworld_same_verdict_and_flags(namespaces: dict[str, Namespace], name: str) -> None:
    ns = namespaces["eth"]
    path = CORPUS / name
    header = path.read_text().splitlines()[0]
    assert header.startswith("# Source kind:"), "each file names the kind of source it imitates"
    krc, kout = ns.keepalived_test(path, "-i", "pyk")
    prc, pout = pykeepalived_test(ns, path)
    theirs, ours = keepalived_messages(path, kout), our_messages(path, pout)
    expected = EXPECTED.get(name, {})
    context = f"\n--- keepalived rc {krc}\n{kout}\n--- pykeepalived rc {prc}\n{pout}"
    # a message of ours is said once, or as often as keepalived says it (two stray '{'
    # on one line: two messages); keepalived's repeats of the top level per process are
    # not copied
    repeated = {m for m in ours if ours.count(m) > max(1, _per_pass(theirs, m))}
    assert not repeated, f"messages repeated: {repeated}{context}"
    want_exit = expected.get("exit")
    if want_exit is None:
        assert prc == krc, context
    else:
        assert (krc, prc) == want_exit, f"expected difference gone or changed{context}"
    allowed = expected.get("missed", set())
    assert isinstance(allowed, set)
    assert missed(theirs, ours) == allowed, context


def test_corpus_is_large_enough() -> None:
    assert len(FILES) >= 30
