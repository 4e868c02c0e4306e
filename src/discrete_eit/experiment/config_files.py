"""Strict reading of the workflow's config files, one file at a time, before their merge is checked.

Snakemake reads each ``--configfile`` with a lenient YAML loader and merges them: a key given
twice in one file silently keeps the last value, a Python tag (``!!python/name:os.system``)
becomes a Python object, a ``.nan`` passes the schema's ``minimum`` (every comparison with NaN is
false) and ``4.0`` passes its ``integer`` type (JSON has no integer type of its own). This module
reads every file again, strictly, and refuses each of these with one line naming the file
(:func:`check_config_files`, the first call of the workflow's ``checked()``):

* not UTF-8 / not YAML, a YAML tag outside plain YAML, aliases that expand beyond
  :data:`MAX_VALUES` values (a "billion laughs" file), a key given twice in one mapping;
* a top level that is empty, ``null``, a list or a scalar (Snakemake says so too, without the file);
* a number that is not finite, anywhere;
* a float where the schema (``workflow/schemas/config.schema.yaml``) asks for an integer.

Everything else is the schema's and :mod:`.config`'s to check (on the merged configuration).
``python -m discrete_eit.experiment.config_files FILE...`` runs the check on its own: Snakemake
refuses an empty, ``null`` or list overlay itself, before the workflow's code runs, with a line
that does not name the file.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from .config import ConfigError

SCHEMA = Path(__file__).resolve().parents[3] / "workflow/schemas/config.schema.yaml"
"""The workflow's schema (in the repository; absent from an installed package: no integer check)."""
MAX_VALUES = 100_000
"""The most values (scalars, mappings, lists; aliases counted expanded) a config file may hold."""
_PLAIN_TAGS = {f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "map", "seq",
                                                  "merge")}


class ConfigFileError(ConfigError):
    """A config file that is not a plain YAML mapping of finite values; ``file`` is the file."""

    def __init__(self, file: str | Path, key: str | None, message: str):
        self.file = Path(file)
        if key is None:
            self.key = ""
            ValueError.__init__(self, f"not a valid configuration file: {message}")
        else:
            super().__init__(key, message)


def check_config_files(paths: Iterable[str | Path]) -> None:
    """Each file strictly (module docstring); :class:`ConfigFileError` for the first problem."""
    for path in paths:
        check_config_file(path)


def check_config_file(path: str | Path) -> Any:
    """One file: returns its contents, or raises :class:`ConfigFileError` naming it."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigFileError(path, None, f"not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise ConfigFileError(path, None, f"cannot be read ({exc.strerror})") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise ConfigFileError(path, None, f"not valid YAML: {_yaml_problem(exc)}") from None
    if node is None or node.tag == "tag:yaml.org,2002:null":
        what = "empty" if node is None else "null at its top level"
        raise ConfigFileError(path, None, f"{what}; expected a mapping of keys (e.g. 'studies: ...')")
    if not isinstance(node, yaml.MappingNode):
        kind = "a list" if isinstance(node, yaml.SequenceNode) else f"the value {node.value!r}"
        raise ConfigFileError(path, None, f"its top level is {kind}; expected a mapping of keys")
    _check_nodes(path, node)
    try:
        doc = yaml.load(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:  # e.g. an unhashable key
        raise ConfigFileError(path, None, f"not valid YAML: {_yaml_problem(exc)}") from None
    _check_values(path, doc, _schema(), "")
    return doc


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """A YAML error in one line: its problem and where."""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    mark = getattr(exc, "problem_mark", None)
    return f"{problem} (line {mark.line + 1}, column {mark.column + 1})" if mark else problem


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _check_nodes(path: Path, root: yaml.Node) -> None:
    """Tags, duplicate keys and the expanded size of the node graph (aliases are shared nodes)."""
    sizes: dict[int, int] = {}

    def size(node: yaml.Node) -> int:  # values with aliases expanded, each node counted once
        if id(node) not in sizes:
            sizes[id(node)] = 0  # a recursive alias counts once (the loader refuses it anyway)
            if isinstance(node, yaml.MappingNode):
                sizes[id(node)] = 1 + sum(size(k) + size(v) for k, v in node.value)
            elif isinstance(node, yaml.SequenceNode):
                sizes[id(node)] = 1 + sum(size(v) for v in node.value)
            else:
                sizes[id(node)] = 1
        return sizes[id(node)]

    if size(root) > MAX_VALUES:
        raise ConfigFileError(path, None, f"its aliases expand to {size(root):,} values (at most "
                              f"{MAX_VALUES:,}: a configuration is a few hundred)")
    seen: set[int] = set()

    def walk(node: yaml.Node, key: str) -> None:
        if id(node) in seen:
            return
        seen.add(id(node))
        if node.tag not in _PLAIN_TAGS:
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            raise ConfigFileError(path, key or "<top level>", f"YAML tag {tag!r} (line {_line(node)}) is not "
                                  "allowed: plain YAML only")
        if isinstance(node, yaml.MappingNode):
            first: dict[tuple, int] = {}
            for k, v in node.value:
                name = k.value if isinstance(k, yaml.ScalarNode) else None
                sub = f"{key}.{name}" if key else str(name)
                if name is not None and k.tag != "tag:yaml.org,2002:merge":
                    if (k.tag, name) in first:
                        raise ConfigFileError(path, sub, f"key given twice (lines {first[k.tag, name]} and "
                                              f"{_line(k)}); YAML keeps only one, say which")
                    first[k.tag, name] = _line(k)
                walk(k, key)
                walk(v, sub)
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                walk(v, f"{key}[{i}]")

    walk(root, "")


@cache
def _schema() -> dict:
    try:
        return yaml.safe_load(SCHEMA.read_text())
    except (OSError, yaml.YAMLError):
        return {}


def _resolve(schema: dict) -> dict:
    while "$ref" in schema:
        schema = _schema()["$defs"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _check_values(path: Path, value: Any, schema: dict, key: str) -> None:
    """Finite numbers everywhere; true integers where the schema's type is ``integer``."""
    schema = _resolve(schema or {})
    where = key or "<top level>"
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigFileError(path, where, f"{value} is not a finite number")
    if schema.get("type") == "integer" and isinstance(value, float):
        raise ConfigFileError(path, where, f"must be an integer, got {value!r} (write it without a "
                              "decimal point)")
    if isinstance(value, dict):
        props, more = schema.get("properties", {}), schema.get("additionalProperties")
        for k, v in value.items():
            sub = props.get(k) if k in props else (more if isinstance(more, dict) else {})
            _check_values(path, v, sub, f"{key}.{k}" if key else str(k))
    elif isinstance(value, list):
        items = schema.get("items") if isinstance(schema.get("items"), dict) else {}
        for i, v in enumerate(value):
            _check_values(path, v, items, f"{key}[{i}]")


def main(argv: list[str] | None = None) -> int:
    """``python -m discrete_eit.experiment.config_files FILE...``: exit 1 with one line per bad file."""
    code = 0
    for path in sys.argv[1:] if argv is None else argv:
        try:
            check_config_file(path)
        except ConfigFileError as exc:
            print(f"{path}: {exc}", file=sys.stderr)
            code = 1
    return code


if __name__ == "__main__":
    sys.exit(main())
