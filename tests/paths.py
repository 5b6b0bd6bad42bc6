"""Paths the tests use, all inside the repository or installed by ``make test``.

keepalived's sample configurations come from Debian's keepalived package (``make test``
installs it), read in place: ``/usr/share/doc/keepalived/samples``. Debian may gzip files
under ``/usr/share/doc``, so a sample is found as ``NAME`` or ``NAME.gz`` and read through
:func:`sample_text` / :func:`sample_file`, which decompress transparently.
"""

from __future__ import annotations

import gzip
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
SAMPLES = Path("/usr/share/doc/keepalived/samples")


def sample_names(root: Path = SAMPLES) -> list[str]:
    """The ``keepalived.conf.*`` samples present on this machine (names without ``.gz``)."""
    if not root.is_dir():
        return []
    names = {p.name.removesuffix(".gz") for p in root.glob("keepalived.conf.*") if p.is_file()}
    return sorted(names)


def sample_path(name: str, root: Path = SAMPLES) -> Path | None:
    """The sample ``name`` as stored (plain or gzip-compressed), or None when absent."""
    for p in (root / name, root / f"{name}.gz"):
        if p.is_file():
            return p
    return None


def sample_text(name: str, root: Path = SAMPLES) -> str:
    """The text of sample ``name``; FileNotFoundError when it is not installed."""
    p = sample_path(name, root)
    if p is None:
        raise FileNotFoundError(root / name)
    data = gzip.decompress(p.read_bytes()) if p.suffix == ".gz" else p.read_bytes()
    return data.decode()


def sample_file(name: str, tmp: Path, root: Path = SAMPLES) -> Path:
    """A plain file holding sample ``name``: the installed file itself, or (when it is
    compressed) a decompressed copy named ``name`` under ``tmp``."""
    p = sample_path(name, root)
    if p is None:
        raise FileNotFoundError(root / name)
    if p.suffix != ".gz":
        return p
    out = tmp / name
    out.write_text(sample_text(name, root))
    return out
