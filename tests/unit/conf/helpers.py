"""Small helpers for the conf tests: load a text, pick objects, assert clean."""

from __future__ import annotations

from pykeepalived.conf import LoadResult, load_text
from pykeepalived.conf.model import Config

IFACES = frozenset({"lo", "eth0", "eth1", "eth2"})


def parse(
    text: str,
    *,
    config_id: str = "",
    interfaces: frozenset[str] | None = IFACES,
    env: dict[str, str] | None = None,
    base_dir: str | None = None,
) -> LoadResult:
    return load_text(text, config_id=config_id, interfaces=interfaces, env=env, base_dir=base_dir)


def problems(result: LoadResult) -> list[str]:
    """Messages keepalived would also print (not pykeepalived's advice)."""
    return [d.format() for d in result.diagnostics if not d.advisory]


def clean(text: str, **kw: object) -> Config:
    """Parse and require no reported problem; return the model."""
    r = parse(text, **kw)  # type: ignore[arg-type]
    assert problems(r) == [], problems(r)
    assert r.config is not None
    return r.config


def messages(result: LoadResult) -> list[str]:
    return [d.message for d in result.diagnostics]
