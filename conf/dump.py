"""Dumps of a parsed configuration: ``dump_text`` for ``-d`` and ``dump_json`` for the data
dumps. Both show the resolved model (defaults applied), so they show what the daemon will
actually do. ``dump_text`` prints only values that differ from the model's defaults, in
the configuration's own vocabulary, one block per object."""

from __future__ import annotations

import dataclasses
import enum
import json
from typing import Any

from pykeepalived.conf.model import Config, NotifyScript

_SKIP = {"file", "line"}


def _plain(value: Any) -> Any:
    """A JSON-able copy: dataclasses → dicts, tuples → lists, enums → values."""
    if isinstance(value, enum.Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    return value


def dump_json(config: Config, *, indent: int | None = 2) -> str:
    """The whole model as JSON (every field, defaults included)."""
    return json.dumps(_plain(config), indent=indent, sort_keys=False)


def _scalar(value: Any) -> str:
    if isinstance(value, NotifyScript):
        out = " ".join(_quote(a) for a in value.argv)
        if value.user:
            out += f" (user {value.user}{':' + value.group if value.group else ''})"
        return out
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (
            " ".join(
                f"{f.name} {_scalar(getattr(value, f.name))}"
                for f in dataclasses.fields(value)
                if getattr(value, f.name) not in (None, False, (), "")
                and getattr(value, f.name) != f.default
            )
            or "(defaults)"
        )
    if isinstance(value, tuple):
        return " ".join(_scalar(v) for v in value)
    return str(value)


def _quote(s: str) -> str:
    return f"'{s}'" if (not s or any(c in s for c in " \t'\"")) else s


def _lines(obj: Any, indent: int, out: list[str]) -> None:
    pad = "  " * indent
    fields = dataclasses.fields(obj)
    located = {"file", "line"} <= {f.name for f in fields}  # source location, not settings
    for f in fields:
        if located and f.name in _SKIP:
            continue
        v = getattr(obj, f.name)
        default = f.default if f.default is not dataclasses.MISSING else None
        if f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
            default = f.default_factory()  # type: ignore[misc]
        if v == default or f.name in ("name", "address", "path", "dest"):
            continue
        if isinstance(v, tuple) and v and dataclasses.is_dataclass(v[0]) and _is_block(v[0]):
            for item in v:
                out.append(f"{pad}{f.name} {_title(item)} {{".replace("  {", " {"))
                _lines(item, indent + 1, out)
                out.append(f"{pad}}}")
        elif dataclasses.is_dataclass(v) and _is_block(v):
            out.append(f"{pad}{f.name} {{")
            _lines(v, indent + 1, out)
            out.append(f"{pad}}}")
        else:
            out.append(f"{pad}{f.name} {_scalar(v)}")


def _is_block(obj: Any) -> bool:
    return len(dataclasses.fields(obj)) > 6


def _title(obj: Any) -> str:
    for attr in ("key", "name", "kind", "path", "address", "dest"):
        v = getattr(obj, attr, None)
        if isinstance(v, str) and v:
            return v
    return ""


def dump_text(config: Config) -> str:
    """A readable dump of the resolved configuration (for ``pykeepalived -d``)."""
    out: list[str] = ["------< pykeepalived configuration >------"]
    if config.files:
        out.append(f"files: {', '.join(config.files)}")
    if config.config_id:
        out.append(f"config_id: {config.config_id}")
    _lines(dataclasses.replace(config, files=(), config_id=""), 0, out)
    return "\n".join(out) + "\n"
