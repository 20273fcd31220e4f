"""Generic, strict conversion of plain YAML data into frozen dataclasses.

Every params section (and every model/dataset config) is a frozen dataclass whose fields
carry their constraints in `field(metadata=...)` via `spec()`. `parse(cls, data, key)`
checks unknown keys (with a "did you mean" hint), types, ranges and choices, and raises
`ConfigError` naming the dotted key, so a stage can exit with one clear line.

Floats written by `dvc exp run -S lr=1e-06` arrive as strings (PyYAML reads `1e-06`
without a dot as str): declared float fields coerce such strings.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import types
import typing
from typing import Any, Literal, get_args, get_origin

from .errors import ConfigError

_MISSING = dataclasses.MISSING

# Upper bound of data seeds: sklearn's random_state must be < 2**32, and datasets derive a
# few seeds by adding small offsets (moons: seed + 1, seed + 2 + i).
SEED_MAX = 2**31 - 1


def spec(default: Any = _MISSING, *, ge=None, gt=None, le=None, lt=None, doc: str = ""):
    """A dataclass field with range constraints; mutable defaults become factories."""
    meta = {"ge": ge, "gt": gt, "le": le, "lt": lt, "doc": doc}
    if isinstance(default, (list, dict, set)):
        value = default
        return dataclasses.field(default_factory=lambda: type(value)(value), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def join(prefix: str, name: str | int) -> str:
    if isinstance(name, int):
        return f"{prefix}[{name}]"
    return f"{prefix}.{name}" if prefix else str(name)


def parse(cls, data: Any, key: str = ""):
    """Build dataclass `cls` from a mapping, validating everything; raise ConfigError."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(key, f"expected a mapping, got {type(data).__name__} {data!r}")
    names = [f.name for f in dataclasses.fields(cls) if f.init]
    # A class may route the keys it does not name into one dict field (VariantParams sends
    # them to the model's config, validated there), so `-S variants.v.latent_dim=8` works.
    extra_field = getattr(cls, "EXTRA_KEYS_INTO", None)
    if extra_field is not None:
        data = dict(data)
        data[extra_field] = {k: data.pop(k) for k in list(data) if k not in names or k == extra_field}
    for name in data:
        if name not in names:
            close = difflib.get_close_matches(str(name), names, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ConfigError(join(key, name), f"unknown key; {hint}allowed: {', '.join(names)}")
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        k = join(key, f.name)
        if f.name in data:
            value = coerce(hints[f.name], data[f.name], k)
        elif f.default is not _MISSING:
            value = f.default
        elif f.default_factory is not _MISSING:
            value = f.default_factory()
        else:
            raise ConfigError(k, "required key is missing")
        check_range(f.metadata, value, k)
        kwargs[f.name] = value
    obj = cls(**kwargs)
    validate = getattr(obj, "validate", None)
    if callable(validate):
        validate(key)
    return obj


def check_range(meta, value, key: str) -> None:
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return
    for name, ok, word in (
        ("ge", lambda v, b: v >= b, ">="),
        ("gt", lambda v, b: v > b, ">"),
        ("le", lambda v, b: v <= b, "<="),
        ("lt", lambda v, b: v < b, "<"),
    ):
        bound = meta.get(name)
        if bound is not None and not ok(value, bound):
            raise ConfigError(key, f"must be {word} {bound}, got {value!r}")


def _type_name(tp) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def coerce(tp, value: Any, key: str):
    """Check/convert one value against a type annotation."""
    origin, args = get_origin(tp), get_args(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return coerce(arg, value, key)
            except ConfigError as err:
                errors.append(str(err))
        allowed = " or ".join(_type_name(a) for a in args)
        raise ConfigError(key, f"expected {allowed}, got {value!r}")
    if origin is Literal:
        if value not in args:
            raise ConfigError(key, f"must be one of {', '.join(map(repr, args))}; got {value!r}")
        return value
    if dataclasses.is_dataclass(tp):
        return parse(tp, value, key)
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(key, f"expected a list, got {value!r}")
        item_tp = args[0] if args else Any
        return tuple(coerce(item_tp, v, join(key, i)) for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(key, f"expected a mapping, got {value!r}")
        val_tp = args[1] if len(args) == 2 else Any
        return {str(k): coerce(val_tp, v, join(key, str(k))) for k, v in value.items()}
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(key, f"expected true or false, got {value!r}")
    if tp is int:
        return _to_int(value, key)
    if tp is float:
        return _to_float(value, key)
    if tp is str:
        if isinstance(value, str):
            return value
        raise ConfigError(key, f"expected a string, got {value!r}")
    raise TypeError(f"unsupported annotation {tp!r} at {key}")  # a bug, not a user error


def _to_float(value, key: str) -> float:
    if isinstance(value, bool):
        raise ConfigError(key, f"expected a number, got {value!r}")
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise ConfigError(key, f"expected a number, got {value!r}") from None
    if not isinstance(value, (int, float)):
        raise ConfigError(key, f"expected a number, got {value!r}")
    if not math.isfinite(value):
        raise ConfigError(key, f"must be finite, got {value!r}")
    return float(value)


def _to_int(value, key: str) -> int:
    if isinstance(value, bool):
        raise ConfigError(key, f"expected an integer, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, (float, str)):
        try:
            f = float(value)
        except ValueError:
            f = math.nan
        if math.isfinite(f) and f.is_integer():
            return int(f)
    raise ConfigError(key, f"expected an integer, got {value!r}")


def to_dict(obj) -> dict:
    """A dataclass as plain YAML/JSON-able data (tuples become lists)."""

    def plain(v):
        if dataclasses.is_dataclass(v):
            return {f.name: plain(getattr(v, f.name)) for f in dataclasses.fields(v)}
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        return v

    return plain(obj)
