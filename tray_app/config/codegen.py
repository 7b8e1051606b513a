"""Writes `tray_app/config/typed.py`, the typed view of the settings, from `schema.SCHEMA`.

    python -m tray_app.config.codegen          # after adding or changing an Option

The view is generated as source (not built at run time) so that mypy and editors know every
attribute and its type: `settings.reminders.session_wh` is a float, a typo is an error before
the code runs. tests/test_settings_typed.py fails, naming this command, when typed.py is stale.

Attribute names follow the dotted key; where a key is both a value and a group
(`reminders.session_wh` and `reminders.session_wh.enabled`) the child is joined with "_":
`settings.reminders.session_wh_enabled`.
"""

from __future__ import annotations

import sys
from pathlib import Path

from tray_app.config.schema import OPTIONS, SCHEMA

ROOT_CLASS = "TypedSettings"
TARGET = Path(__file__).with_name("typed.py")


def attr_path(key: str) -> tuple[str, ...]:
    """("reminders", "session_wh_enabled") for "reminders.session_wh.enabled"."""
    parts = key.split(".")
    path = [parts[0]]
    for i in range(1, len(parts)):
        if ".".join(parts[:i]) in OPTIONS:  # a value and a group at once
            path[-1] += "_" + parts[i]
        else:
            path.append(parts[i])
    return tuple(path)


def _class_name(group: tuple[str, ...]) -> str:
    if not group:
        return ROOT_CLASS
    return "".join(word.capitalize() for part in group for word in part.split("_"))


def _tree() -> dict[tuple[str, ...], list[tuple[str, str | None]]]:
    """group path -> its members in schema order: (name, key) for values, (name, None) groups."""
    tree: dict[tuple[str, ...], list[tuple[str, str | None]]] = {(): []}
    for opt in SCHEMA:
        path = attr_path(opt.key)
        for depth in range(1, len(path)):
            group = path[:depth]
            if group not in tree:
                tree[group] = []
                tree[path[: depth - 1]].append((path[depth - 1], None))
        tree[path[:-1]].append((path[-1], opt.key))
    for group, members in tree.items():
        names = [name for name, _key in members]
        if len(names) != len(set(names)):
            raise SystemExit(f"two settings share an attribute name in {group}: {names}")
    return tree


def render() -> str:
    tree = _tree()
    lines = [
        '"""The settings as typed, read-only attributes: `settings.reminders.session_wh`.',
        "",
        "GENERATED from tray_app/config/schema.py by `python -m tray_app.config.codegen`: do not",
        "edit by hand. Defaults, ranges and descriptions live in the schema only; this file knows",
        "names and types. Build one with `tray_app.config.settings.typed(values)`.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "from collections.abc import Mapping",
        "from dataclasses import dataclass",
        "from typing import Any, Literal",
        "",
    ]
    # Deepest groups first, so every class is defined before the class that holds it.
    for group in sorted(tree, key=len, reverse=True):
        lines += ["", "@dataclass(frozen=True, slots=True)", f"class {_class_name(group)}:"]
        for name, key in tree[group]:
            if key is None:
                lines.append(f"    {name}: {_class_name((*group, name))}")
            else:
                lines.append(f"    {name}: {OPTIONS[key].type.annotation()}  # {key}")
        lines.append("")
    lines += [
        "",
        "# Attribute path -> schema key, for every value (what `key_of` and `value_of` use).",
        "KEYS: dict[str, str] = {",
    ]
    for opt in SCHEMA:
        lines.append(f'    "{".".join(attr_path(opt.key))}": "{opt.key}",')
    lines += ["}", "", ""]
    lines += [
        f"def build(v: Mapping[str, Any]) -> {ROOT_CLASS}:",
        '    """From a complete mapping of valid values (every key of the schema)."""',
    ]
    lines += _constructor((), tree, "    return ", "    ")
    lines.append("")
    return "\n".join(lines)


def _constructor(
    group: tuple[str, ...],
    tree: dict[tuple[str, ...], list[tuple[str, str | None]]],
    head: str,
    indent: str,
) -> list[str]:
    out = [f"{head}{_class_name(group)}("]
    for name, key in tree[group]:
        if key is None:
            out += _constructor((*group, name), tree, f"{indent}    {name}=", indent + "    ")
        else:
            out.append(f'{indent}    {name}=v["{key}"],')
    out.append(f"{indent}){',' if group else ''}")
    return out


def main() -> int:
    TARGET.write_text(render(), encoding="utf-8")
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
