"""Every relative link and repository path in the docs resolves inside the repository.

README.md, docs/**/*.md and config/README.md: a Markdown link or image (``[text](target)``,
``[label]: target``) to a relative path must name an existing file or folder of the repository,
and no path may point outside it (``../`` above the root, or a path of a developer's machine such
as ``/work/...``; code blocks may show any path in an example). Paths written in backticks that
start with a tracked top-level folder (``docs/MATH.md``, ``src/discrete_eit/...``) must exist too;
generated outputs (``results/``, ``data/``) and patterns are not checked. Fast: reads text only.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted([ROOT / "README.md", ROOT / "config/README.md", *(ROOT / "docs").rglob("*.md")])
TRACKED_TOP = ("benchmarks", "config", "docs", "examples", "src", "tests", "tools", "workflow")
MACHINE_PATH = re.compile(r"(?<![\w./~-])/(?:work|home|Users)/[\w./-]+")  # a developer's machine
INLINE_LINK = re.compile(r"!?\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$", re.M)
CODE_SPAN = re.compile(r"`([^`]+)`")  # may run over a line break
FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.M | re.S)


def _prose(text: str) -> str:
    """The text without fenced code blocks (line numbers kept) and without code spans."""
    text = FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)
    return CODE_SPAN.sub(lambda m: " " * len(m.group(0)), text)


def _line(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _is_external(target: str) -> bool:
    return bool(re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I)) or target.startswith(("#", "//"))


def _check_target(doc: Path, target: str) -> str | None:
    """Why a link target of ``doc`` is broken, or None."""
    path = target.split("#", 1)[0].split("?", 1)[0]
    if not path:
        return None
    resolved = ((ROOT / path.lstrip("/")) if path.startswith("/") else (doc.parent / path)).resolve()
    if not resolved.is_relative_to(ROOT):
        return f"{target}: outside the repository"
    if not resolved.exists():
        return f"{target}: no such file ({resolved.relative_to(ROOT)})"
    return None


def dead_links(doc: Path, text: str | None = None) -> list[str]:
    text = doc.read_text(encoding="utf-8") if text is None else text
    prose = _prose(text)
    out = []
    for match in [*INLINE_LINK.finditer(prose), *REFERENCE.finditer(prose)]:
        target = match.group(1)
        if not _is_external(target) and (why := _check_target(doc, target)):
            out.append(f"{doc.relative_to(ROOT)}:{_line(text, match.start())}: {why}")
    return out


def dead_paths(doc: Path, text: str | None = None) -> list[str]:
    """Machine paths anywhere in the text; ``../`` paths in code spans that leave the repository or do
    not exist; repository paths in code spans that do not exist."""
    text = doc.read_text(encoding="utf-8") if text is None else text
    unfenced = FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)  # examples may name any path
    out = [f"{doc.relative_to(ROOT)}:{_line(text, m.start())}: {m.group(0)}: a path outside the repository"
           for m in MACHINE_PATH.finditer(unfenced)]
    for m in CODE_SPAN.finditer(unfenced):
        token = m.group(1).strip()
        if token.startswith("../"):
            if why := _check_target(doc, token):
                out.append(f"{doc.relative_to(ROOT)}:{_line(text, m.start())}: {why}")
            continue
        path = token.split("::", 1)[0].rstrip(".,:;")
        if (" " in path or "/" not in path or path.split("/", 1)[0] not in TRACKED_TOP
                or re.search(r"[*?{}<>\[\]$]", path)):
            continue
        if not (ROOT / path).exists():
            out.append(f"{doc.relative_to(ROOT)}:{_line(text, m.start())}: {token}: no such file")
    return out


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(doc):
    assert not dead_links(doc), "\n".join(dead_links(doc))


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_path_outside_the_repository(doc):
    assert not dead_paths(doc), "\n".join(dead_paths(doc))


def test_the_checks_catch_what_they_should():
    doc = ROOT / "docs" / "_probe.md"  # never written: the checks are given its text
    text = ("[ok](MATH.md) [anchor](#x) [web](https://example.org) ![img](img/none.png)\n"
            "[up](../../elsewhere.md)\n[ref]: missing.md\n"
            "```\n[in code](nowhere.md)\n```\n"
            "see `/work/shared/spec/EXPERIMENTS.md`, `../paper/`, `docs/MATH.md`, `src/nope.py`,"
            " `results/tables/errors.csv`, `data/dtn/{profile}`\n")
    links = dead_links(doc, text)
    assert len(links) == 3 and any("img/none.png" in x for x in links)
    assert any("outside the repository" in x for x in links) and any("missing.md" in x for x in links)
    paths = dead_paths(doc, text)
    assert len(paths) == 3, paths
    assert {p.split(": ")[1] for p in paths} == {"/work/shared/spec/EXPERIMENTS.md", "../paper/",
                                                  "src/nope.py"}
    assert not dead_paths(doc, "`../README.md`, `../config/paper.yaml`")
    assert dead_paths(doc, "`../../outside.md`")[0].endswith("outside the repository")
