"""keepalived's samples are read the same whether Debian stored them plain or gzip-compressed."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from tests.paths import sample_file, sample_names, sample_path, sample_text


def test_plain_and_compressed_samples_read_alike(tmp_path: Path) -> None:
    root = tmp_path / "samples"
    root.mkdir()
    (root / "keepalived.conf.plain").write_text("global_defs {\n}\n")
    (root / "keepalived.conf.packed.gz").write_bytes(gzip.compress(b"vrrp_script x {\n}\n"))
    (root / "sample_notify_fifo.sh.gz").write_bytes(gzip.compress(b"#!/bin/sh\n"))
    assert sample_names(root) == ["keepalived.conf.packed", "keepalived.conf.plain"]
    assert sample_text("keepalived.conf.packed", root) == "vrrp_script x {\n}\n"
    out = tmp_path / "out"
    out.mkdir()
    plain = sample_file("keepalived.conf.plain", out, root)
    assert plain == root / "keepalived.conf.plain"  # read in place, not copied
    packed = sample_file("keepalived.conf.packed", out, root)
    assert packed == out / "keepalived.conf.packed"
    assert packed.read_text() == "vrrp_script x {\n}\n"
    assert sample_path("keepalived.conf.absent", root) is None
    with pytest.raises(FileNotFoundError):
        sample_text("keepalived.conf.absent", root)


def test_missing_sample_directory_gives_no_samples(tmp_path: Path) -> None:
    assert sample_names(tmp_path / "nowhere") == []
