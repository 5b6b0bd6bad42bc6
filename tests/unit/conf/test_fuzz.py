"""Property tests: mutated valid configurations never raise, they only produce diagnostics.

Seeds are pykeepalived's own test configuration and, when present on this machine,
keepalived's sample configurations (read in place, never copied).
"""

from __future__ import annotations

import pickle
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pykeepalived.conf import LoadResult, load_text
from pykeepalived.conf.dump import dump_json, dump_text
from tests.paths import sample_names, sample_text

DATA = Path(__file__).resolve().parents[2] / "data" / "conf"


def _seeds() -> list[str]:
    seeds = [p.read_text() for p in sorted(DATA.glob("*.conf"))]
    seeds += [sample_text(name) for name in sample_names()]
    return seeds


SEEDS = _seeds()
SPECIALS = [*"{}\"'#!$@~\\;()=,-/.:", "${", "~SEQ(", "~LST(", "@^", "\n", "\t", " ", "0", "9"]
WORDS = [
    "vrrp_instance",
    "virtual_server",
    "real_server",
    "global_defs",
    "include",
    "priority",
    "weight",
    "}",
    "{",
    "$X=",
    "${_HASH}",
    "-1",
    "999999999999",
    "0x1f",
    "inet6",
    "::",
    "fe80::1/64",
    "10.0.0.1-300",
    "TCP_CHECK",
    "url",
    "track_script",
    "MASTER",
    "yes",
]


@st.composite
def mutated(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(
            st.sampled_from(["insert", "delete", "replace", "dup_line", "drop_line", "truncate"])
        )
        n = len(text)
        pos = draw(st.integers(0, max(n - 1, 0)))
        if kind == "insert":
            text = text[:pos] + draw(st.sampled_from(SPECIALS + WORDS)) + text[pos:]
        elif kind == "delete" and n:
            end = pos + draw(st.integers(1, 20))
            text = text[:pos] + text[end:]
        elif kind == "replace" and n:
            text = text[:pos] + draw(st.text(min_size=1, max_size=8)) + text[pos + 1 :]
        elif kind in ("dup_line", "drop_line"):
            lines = text.split("\n")
            i = draw(st.integers(0, len(lines) - 1))
            if kind == "dup_line":
                lines.insert(i, lines[i])
            else:
                del lines[i]
            text = "\n".join(lines)
        elif kind == "truncate":
            text = text[:pos]
    return text


def _check(r: LoadResult) -> None:
    assert isinstance(r.diagnostics, list)
    assert r.exit_code in (0, 5, 6)
    for d in r.diagnostics:
        assert d.severity in ("error", "warning") and isinstance(d.message, str)
        assert d.code != "internal", d.message
    if r.config is not None:
        assert pickle.loads(pickle.dumps(r.config)) == r.config
        dump_text(r.config)
        dump_json(r.config)


@settings(deadline=None, max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(mutated(), st.sampled_from(["", "lb1", "high", "low"]))
def test_mutations_only_produce_diagnostics(text: str, config_id: str) -> None:
    _check(load_text(text, config_id=config_id, interfaces=frozenset({"lo", "eth0", "eth1"})))


@settings(deadline=None, max_examples=300)
@given(
    st.lists(st.sampled_from([*SPECIALS, "a", "b", "x", "1", "2", *WORDS]), max_size=120).map(
        "".join
    )
)
def test_arbitrary_text_only_produces_diagnostics(text: str) -> None:
    _check(load_text(text))


def test_seed_configuration_is_clean() -> None:
    r = load_text(
        (DATA / "full.conf").read_text(),
        config_id="lb1",
        interfaces=frozenset({"lo", "eth0", "eth1"}),
    )
    assert [d.format() for d in r.diagnostics if not d.advisory] == []
    assert r.config is not None and r.config.vrrp_instances[0].priority == 150
