"""config/README.md documents every key of the workflow configuration's schema.

Convention (stated at the top of the README): a key is written in backticks as its full dotted path
from the top level (`figures.working_n`); `<name>` stands for a user-chosen mapping key
(`runs.<name>.method`, `studies.<name>`) and `<study>` for any study, whose keys are
documented once (`<study>.n`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).parents[2]
SCHEMA = ROOT / "workflow/schemas/config.schema.yaml"
README = ROOT / "config/README.md"

# $defs documented once, under a placeholder, wherever the schema uses them.
SHARED_DEFS = {"study": "<study>"}
NAME = "<name>"  # a key of a mapping whose keys the user chooses (additionalProperties)


def _deref(node: dict[str, Any], defs: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The node with its ``$ref`` (to ``#/$defs/...``) resolved, and the name of the def it used."""
    used = None
    while "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/$defs/"), f"unsupported $ref {ref!r}: extend this test"
        used = ref.removeprefix("#/$defs/")
        node = {**defs[used], **{k: v for k, v in node.items() if k != "$ref"}}
    return node, used


def _walk(node: dict[str, Any], prefix: str, defs: dict[str, Any], out: list[str]) -> None:
    node, used = _deref(node, defs)
    if used in SHARED_DEFS:
        prefix = SHARED_DEFS[used]
    items = node.get("items")
    if isinstance(items, dict):
        assert "properties" not in _deref(items, defs)[0], f"{prefix}: a list of mappings: extend this test"
    for key, sub in node.get("properties", {}).items():
        path = f"{prefix}.{key}" if prefix else key
        out.append(path)
        _walk(sub, path, defs, out)
    extra = node.get("additionalProperties")
    if isinstance(extra, dict) and _deref(extra, defs)[0].get("type") == "object":
        path = f"{prefix}.{NAME}"
        out.append(path)
        _walk(extra, path, defs, out)


def schema_keys() -> list[str]:
    """Every key of the schema as the README writes it, e.g. ``runs.<name>.options``, ``<study>.n``."""
    schema = yaml.safe_load(SCHEMA.read_text(encoding="utf-8"))
    out: list[str] = []
    _walk(schema, "", schema.get("$defs", {}), out)
    return list(dict.fromkeys(out))


def tables(text: str) -> list[tuple[list[str], list[list[str]]]]:
    """The Markdown tables of a text: (header cells, body rows' cells)."""
    out: list[tuple[list[str], list[list[str]]]] = []
    block: list[str] = []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            block.append(line)
            continue
        if len(block) >= 2:
            header, *body = ([c.strip() for c in row.strip().strip("|").split("|")] for row in block)
            out.append((header, [row for row in body if not all(re.fullmatch(r":?-+:?", c) for c in row)]))
        block = []
    return out


def key_table_rows(text: str) -> list[str]:
    """First cells of the rows of the README's key tables (tables whose header starts with ``key``)."""
    return [row[0] for header, body in tables(text) if header[0] == "key" for row in body]


def test_schema_walk_sees_nested_keys():
    keys = schema_keys()
    for key in ("runs", "runs.<name>", "runs.<name>.method", "runs.<name>.options", "studies.sizes",
                "studies.<name>", "<study>.n", "<study>.runs", "monte_carlo.options",
                "figures.working_n"):
        assert key in keys, key
    assert not any(k.startswith(("studies.sizes.", "studies.<name>.")) for k in keys), keys


def test_every_schema_key_is_documented():
    text = README.read_text(encoding="utf-8")
    missing = [key for key in schema_keys() if f"`{key}`" not in text]
    assert not missing, f"keys of {SCHEMA.name} not described in config/README.md: {', '.join(missing)}"


def test_key_tables_name_only_schema_keys():
    known = set(schema_keys())
    rows = key_table_rows(README.read_text(encoding="utf-8"))
    assert rows, "no key tables found in config/README.md"
    bad = [cell for cell in rows if not (re.fullmatch(r"`[^`]+`", cell) and cell.strip("`") in known)]
    assert not bad, f"rows of config/README.md's key tables that are not keys of the schema: {bad}"


def _fmt(value: Any) -> str:
    """A default as the README writes it."""
    if value is None:
        return "none"
    if value == "":
        return '""'
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def test_method_options_and_defaults_are_documented():
    """The README's table of method options matches the built-in methods' declared options."""
    from discrete_eit.methods.registry import BUILTIN_MODULES, load_methods

    methods = {name: m for name, m in load_methods().items()
               if m.func.__module__.startswith(BUILTIN_MODULES)}
    [body] = [body for header, body in tables(README.read_text(encoding="utf-8"))
              if header[:2] == ["method", "options (default)"]]
    rows = {row[0].strip("`"): row[1] for row in body}
    assert sorted(rows) == sorted(methods), f"options table of config/README.md: {sorted(rows)}"
    for name, method in methods.items():
        documented = re.findall(r"`(\w+)` \(", rows[name])
        declared = [o.name for o in method.options]
        assert documented == declared, f"{name}: README lists {documented}, method declares {declared}"
        for option in method.options:
            entry = f"`{option.name}` ({_fmt(option.default)})"
            assert entry in rows[name], f"{name}: README should list {entry}"
