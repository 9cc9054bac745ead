"""``json.dumps`` for values of any depth: the standard encoder recurses, and a stored value nested
some hundreds of levels deep exceeds Python's recursion limit. Output is byte-identical to
``json.dumps`` with the same options; only a value the standard encoder cannot reach takes the
iterative encoder."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any


def dumps(
    value: Any,
    *,
    ensure_ascii: bool = True,
    separators: tuple[str, str] | None = None,
    sort_keys: bool = False,
    indent: int | str | None = None,
    default: Callable[[Any], Any] | None = None,
) -> str:
    """``json.dumps(value, ...)`` with these options, for a value of any depth."""
    options: dict[str, Any] = {
        "ensure_ascii": ensure_ascii,
        "separators": separators,
        "sort_keys": sort_keys,
        "indent": indent,
        "default": default,
    }
    try:
        return json.dumps(value, **options)
    except RecursionError:
        return dumps_iteratively(value, **options)


def _key_text(key: Any) -> str:
    """A JSON object key as ``json.dumps`` writes a non-string one."""
    if isinstance(key, str):
        return key
    if key is True or key is False or key is None:
        return json.dumps(key)
    if isinstance(key, float):
        return json.dumps(key)
    return str(key)


def dumps_iteratively(
    value: Any,
    *,
    ensure_ascii: bool = True,
    separators: tuple[str, str] | None = None,
    sort_keys: bool = False,
    indent: int | str | None = None,
    default: Callable[[Any], Any] | None = None,
) -> str:
    """What ``json.dumps`` writes, built with an explicit stack instead of recursion; ``default`` turns
    a value of another type into one JSON can hold, as it does for ``json.dumps``."""
    pad = " " * indent if isinstance(indent, int) else indent
    item_sep, key_sep = separators or ((", ", ": ") if pad is None else (",", ": "))
    out: list[str] = []
    work: list[Any] = [(value, 0)]
    while work:
        item = work.pop()
        if isinstance(item, str):
            out.append(item)
            continue
        node, level = item
        is_dict = isinstance(node, dict)
        if not (is_dict or isinstance(node, list | tuple)):
            if default is not None and not isinstance(node, str | int | float | None):
                work.append((default(node), level))
                continue
            out.append(json.dumps(node, ensure_ascii=ensure_ascii))
            continue
        if not node:
            out.append("{}" if is_dict else "[]")
            continue
        inner = "" if pad is None else "\n" + pad * (level + 1)
        close = ("" if pad is None else "\n" + pad * level) + ("}" if is_dict else "]")
        pieces: list[Any] = []
        if is_dict:
            keys = sorted(node) if sort_keys else list(node)
            for n, key in enumerate(keys):
                head = (item_sep if n else "") + inner
                pieces.append(head + json.dumps(_key_text(key), ensure_ascii=ensure_ascii) + key_sep)
                pieces.append((node[key], level + 1))
        else:
            for n, child in enumerate(node):
                pieces.append((item_sep if n else "") + inner)
                pieces.append((child, level + 1))
        pieces.append(close)
        out.append("{" if is_dict else "[")
        work.extend(reversed(pieces))
    return "".join(out)
