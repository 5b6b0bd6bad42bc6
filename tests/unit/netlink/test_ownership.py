"""The pure ownership ledger: shared items, exclusive sets, -V, persistence."""

from __future__ import annotations

import json

import pytest

from pykeepalived.actors.netlink.ownership import STATIC_OWNER, Ledger


def test_claim_and_release_with_two_owners() -> None:
    led = Ledger()
    assert led.claim("vrrp/VI_1", "addresses", "k1", {"address": "10.0.0.1/32"}) is True
    assert led.claim("vrrp/VI_2", "addresses", "k1", {"address": "10.0.0.1/32"}) is False
    assert led.release("vrrp/VI_1", "k1") is False  # VI_2 still wants it
    assert "k1" in led
    assert led.release("vrrp/VI_2", "k1") is True
    assert "k1" not in led and led.release("vrrp/VI_2", "k1") is False


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError):
        Ledger().claim("x", "neighbours", "k", {})


def test_exclusive_plan_and_by_owner() -> None:
    led = Ledger()
    for key in ("a", "b", "c"):
        led.claim(STATIC_OWNER, "addresses", key, {"address": key})
    led.claim("vrrp/VI_1", "routes", "r", {"dest": "default"})
    assert sorted(led.plan_exclusive(STATIC_OWNER, ["a", "c"])) == ["b"]
    assert led.keys_of("vrrp/VI_1") == ["r"]
    view = led.by_owner("vrrp/VI_1")
    assert view == {
        "vrrp/VI_1": {"addresses": [], "routes": [{"dest": "default"}], "rules": [], "links": []}
    }
    assert set(led.by_owner()) == {STATIC_OWNER, "vrrp/VI_1"}


def test_stop_releases_everything_or_keeps_vrrp_items_under_dash_v() -> None:
    led = Ledger()
    led.claim(STATIC_OWNER, "addresses", "s", {})
    led.claim("vrrp/VI_1", "addresses", "v", {})
    led.claim(STATIC_OWNER, "addresses", "both", {})
    led.claim("vrrp/VI_1", "addresses", "both", {})
    assert sorted(led.releasable_on_stop(keep_vrrp=False)) == ["both", "s", "v"]
    assert led.releasable_on_stop(keep_vrrp=True) == ["s"]


def test_dumps_loads_round_trip() -> None:
    led = Ledger()
    led.claim("vrrp/VI_1", "addresses", "k", {"address": "10.0.0.1/32", "dev": "eth0"})
    led.claim(STATIC_OWNER, "addresses", "k", {"address": "10.0.0.1/32", "dev": "eth0"})
    led.claim("vrrp/VI_1", "links", "link vmac vrrp.1", {"name": "vrrp.1"})
    back, skipped = Ledger.loads(led.dumps())
    assert skipped == 0 and back.by_owner() == led.by_owner()
    entry = back.get("k")
    assert entry is not None and entry.owners == {STATIC_OWNER, "vrrp/VI_1"}


def test_journal_replays_changes_and_skips_a_torn_last_line() -> None:
    led = Ledger()
    text = led.dumps()
    led.claim("vrrp/VI_1", "addresses", "a", {"address": "a"})
    led.claim("vrrp/VI_1", "addresses", "b", {"address": "b"})
    led.claim("vrrp/VI_2", "addresses", "b", {"address": "b"})
    text += led.drain()
    assert led.drain() == ""
    led.release("vrrp/VI_1", "b")
    led.forget("a")
    text += led.drain()
    text += '{"op":"claim","owner":"vrrp/VI_3","ki'  # a crash in the middle of a write
    back, skipped = Ledger.loads(text)
    assert skipped == 1
    assert (
        back.by_owner()
        == led.by_owner()
        == {"vrrp/VI_2": {"addresses": [{"address": "b"}], "routes": [], "rules": [], "links": []}}
    )
    assert back.journal == []


def test_empty_ledger_file_is_just_the_version() -> None:
    assert Ledger.loads(Ledger().dumps())[0].entries == {}


@pytest.mark.parametrize(
    "text",
    ["", "{}", "not json\n", json.dumps({"version": 99}) + "\n"],
)
def test_files_of_unknown_version_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        Ledger.loads(text)


def test_bad_lines_are_skipped_and_counted() -> None:
    lines = [
        json.dumps({"version": 1}),
        json.dumps(["x"]),
        json.dumps({"op": "claim", "owner": "o", "kind": "bad", "key": "k", "item": {}}),
        json.dumps({"op": "claim", "owner": 1, "kind": "routes", "key": "k", "item": {}}),
        json.dumps({"op": "explode"}),
        json.dumps({"op": "claim", "owner": "o", "kind": "routes", "key": "k", "item": {}}),
    ]
    led, skipped = Ledger.loads("\n".join(lines))
    assert skipped == 4 and list(led.entries) == ["k"]
