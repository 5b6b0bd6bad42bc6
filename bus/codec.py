"""Explicit conversions between Python values and the bus's msgpack-safe values.

msgpack silently turns tuples into lists and refuses IP address objects, enums and
dataclasses; integer map keys come back as integers, which the envelope forbids. Rather
than rely on ``default=`` hooks, every body goes through ``to_wire`` (Python → wire) and,
where a typed value is wanted back, ``from_wire(cls, data)`` (wire → dataclass), which
rebuilds nested dataclasses, tuples, enums and optionals from the class's type hints.
"""

from __future__ import annotations

import dataclasses
import enum
import ipaddress
import types
import typing
from typing import Any, TypeVar

T = TypeVar("T")

_IP_TYPES = (
    ipaddress.IPv4Address,
    ipaddress.IPv6Address,
    ipaddress.IPv4Network,
    ipaddress.IPv6Network,
    ipaddress.IPv4Interface,
    ipaddress.IPv6Interface,
)


def to_wire(value: Any) -> Any:
    """A msgpack-safe copy of ``value``: str keys, lists for sequences, strings for addresses."""
    if value is None or isinstance(value, (bool, int, float, str, bytes)):
        return value
    if isinstance(value, enum.Enum):
        return to_wire(value.value)
    if isinstance(value, _IP_TYPES):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_wire(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): to_wire(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [to_wire(v) for v in value]
        if isinstance(value, (set, frozenset)):
            items.sort(key=repr)
        return items
    raise TypeError(f"cannot put {type(value).__name__} on the bus")


def from_wire(cls: type[T], data: Any) -> T:
    """Rebuild a value of type ``cls`` (usually a dataclass) from its wire form."""
    return typing.cast(T, _convert(cls, data))


_hints_cache: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    hints = _hints_cache.get(cls)
    if hints is None:
        hints = typing.get_type_hints(cls)
        _hints_cache[cls] = hints
    return hints


def _convert(tp: Any, data: Any) -> Any:
    if tp is Any or tp is object:
        return data
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if data is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(arg, data)
            except (TypeError, ValueError) as exc:
                errors.append(str(exc))
        raise TypeError(f"{data!r} matches none of {tp}: {errors}")
    if origin is typing.Literal:
        if data not in typing.get_args(tp):
            raise ValueError(f"{data!r} not one of {typing.get_args(tp)}")
        return data
    if origin in (tuple, list, set, frozenset):
        if not isinstance(data, (list, tuple)):
            raise TypeError(f"expected a sequence for {tp}, got {type(data).__name__}")
        args = typing.get_args(tp)
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(args) != len(data):
                raise ValueError(f"expected {len(args)} items for {tp}")
            return tuple(_convert(a, v) for a, v in zip(args, data, strict=True))
        item = args[0] if args else Any
        return origin(_convert(item, v) for v in data)
    if origin is dict:
        if not isinstance(data, dict):
            raise TypeError(f"expected a map for {tp}")
        kt, vt = typing.get_args(tp) or (Any, Any)
        return {_convert(kt, k): _convert(vt, v) for k, v in data.items()}
    if isinstance(tp, type):
        if dataclasses.is_dataclass(tp):
            if not isinstance(data, dict):
                raise TypeError(f"expected a map for {tp.__name__}")
            hints = _hints(tp)
            kwargs = {}
            for f in dataclasses.fields(tp):
                if f.name in data and f.init:
                    kwargs[f.name] = _convert(hints.get(f.name, Any), data[f.name])
            return tp(**kwargs)
        if issubclass(tp, enum.Enum):
            return tp(data)
        if issubclass(tp, _IP_TYPES):
            return tp(data)
        if tp is float and isinstance(data, int) and not isinstance(data, bool):
            return float(data)
        if tp in (int, float, str, bytes, bool):
            if not isinstance(data, tp) or (tp is int and isinstance(data, bool)):
                raise TypeError(f"expected {tp.__name__}, got {type(data).__name__}")
            return data
    return data
