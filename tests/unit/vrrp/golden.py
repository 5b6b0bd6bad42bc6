"""Loading the golden packets captured from Debian's keepalived (tests/data/packets/)."""

from __future__ import annotations

from pathlib import Path

PACKETS = Path(__file__).resolve().parents[2] / "data" / "packets"


def load(case: str) -> list[bytes]:
    """The IP packets of one capture, in order (the last one is the priority-0 advert)."""
    lines = (PACKETS / f"{case}.hex").read_text().splitlines()
    return [bytes.fromhex(line) for line in lines if line and not line.startswith("#")]


CASES = ("v2_mcast", "v3_mcast4", "v3_mcast6", "v2_pass", "v2_ah", "v2_unicast", "v3_unicast4")
