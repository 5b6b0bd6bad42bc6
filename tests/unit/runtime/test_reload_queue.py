"""The parent's reload: validated first, a bad file keeps the old config, reloads queue up."""

from __future__ import annotations

import asyncio

import pytest

from pykeepalived.actors.base import Options
from pykeepalived.actors.parent import actor as parent_actor
from pykeepalived.bus.testing import InMemoryBus
from pykeepalived.conf.diagnostics import Diagnostic, LoadResult
from pykeepalived.conf.model import Config, GlobalDefs
from tests.unit.runtime.fakes import BusBroker


def test_reloads_queue_and_bad_config_keeps_the_old(monkeypatch: pytest.MonkeyPatch) -> None:
    async def body() -> None:
        gate = asyncio.Event()
        loads: list[str] = []
        unknown = Diagnostic("error", "k.conf", 3, "Unknown keyword 'x'", "unknown-keyword")
        results = [
            LoadResult(Config(global_defs=GlobalDefs(router_id="bad")), [unknown]),
            LoadResult(Config(global_defs=GlobalDefs(router_id="good"))),
        ]

        async def fake_load(path: str, config_id: str | None) -> LoadResult:
            loads.append(path)
            await gate.wait()
            return results[len(loads) - 1]

        monkeypatch.setattr(parent_actor, "load_config", fake_load)
        original = Config(global_defs=GlobalDefs(router_id="old"))
        parent = parent_actor.Parent(Options(config_file="k.conf", host="h"), original)
        bus = InMemoryBus()
        parent.broker = BusBroker(bus)  # type: ignore[assignment]
        hooks: list[bool] = []
        parent.on_reloading.append(hooks.append)
        first = asyncio.ensure_future(parent.reload())
        await asyncio.sleep(0)
        # two more SIGHUPs during the running reload: queued as one more reload
        assert await parent.reload() is False
        assert await parent.reload() is False
        gate.set()
        assert await first is True  # the queued (good) one ran last
        assert len(loads) == 2
        assert [b["ok"] for b in bus.bodies("config.reload")] == [False, True]
        assert "Unknown keyword 'x'" in bus.bodies("config.reload")[0]["errors"][0]
        assert parent.config.global_defs.router_id == "good" and parent.generation == 2
        assert hooks == [True, False, True, False]
        assert parent.last_reload == {"ok": True, "errors": [], "generation": 2}

    asyncio.run(body())


def test_a_bad_config_alone_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    async def body() -> None:
        async def broken(path: str, config_id: str | None) -> LoadResult:
            raise RuntimeError("config parser failed (1): boom")

        monkeypatch.setattr(parent_actor, "load_config", broken)
        original = Config()
        parent = parent_actor.Parent(Options(host="h"), original)
        bus = InMemoryBus()
        parent.broker = BusBroker(bus)  # type: ignore[assignment]
        assert await parent.reload() is False
        assert parent.config is original and parent.generation == 1
        assert parent.last_reload["errors"] == ["config parser failed (1): boom"]
        assert bus.bodies("config.reload") == [
            {"ok": False, "errors": ["config parser failed (1): boom"]}
        ]

    asyncio.run(body())
