"""Paths the tests use. ``shared/`` sits beside the repository (``../shared``), in CI too."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SAMPLES = SHARED / "keepalived-samples"
REFERENCE = SHARED / "reference"
