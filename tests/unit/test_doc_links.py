"""Every relative link of the project's Markdown leads somewhere: the file exists, and a
``#fragment`` names a heading of it (as GitHub makes a heading's anchor). Moving a section or
a document breaks the links to it; this says which."""

from __future__ import annotations

import functools
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# [text](target) and [text](target#fragment), not images' sources nor bare URLs
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^()\s]*)\)")
HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
FENCE = re.compile(r"^\s*(```|~~~)")


def documents() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "*.md"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    return [ROOT / name for name in listed if (ROOT / name).exists()]


def _outside_code(text: str) -> list[str]:
    """The document's lines outside fenced code blocks."""
    lines, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            lines.append(line)
    return lines


def anchor(heading: str) -> str:
    """GitHub's anchor for a heading: inline code and emphasis marks dropped, lower case,
    punctuation other than ``-`` and ``_`` removed, spaces as hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link keeps its text
    text = text.replace("`", "").lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


@functools.cache  # a document is linked to many times
def anchors(document: Path) -> frozenset[str]:
    seen: dict[str, int] = {}
    found: set[str] = set()
    for line in _outside_code(document.read_text()):
        match = HEADING.match(line)
        if match is None:
            continue
        name = anchor(match.group(2))
        count = seen.get(name, 0)
        seen[name] = count + 1
        found.add(name if count == 0 else f"{name}-{count}")  # repeated headings: -1, -2, …
    return frozenset(found)


def links(document: Path) -> list[str]:
    return [
        match.group(1)
        for line in _outside_code(document.read_text())
        for match in LINK.finditer(re.sub(r"`[^`]*`", "", line))  # not inside inline code
    ]


def broken(document: Path) -> list[str]:
    problems = []
    for link in links(document):
        if re.match(r"^[a-z][a-z0-9+.-]*:", link, re.IGNORECASE):  # http:, mailto:, …
            continue
        target, _, fragment = link.partition("#")
        path = (document.parent / target).resolve() if target else document
        if not path.exists():
            problems.append(f"{link}: no such file")
        elif fragment and path.suffix == ".md" and fragment not in anchors(path):
            problems.append(f"{link}: no heading #{fragment} in {path.name}")
    return problems


@pytest.mark.parametrize("document", documents(), ids=lambda path: str(path.relative_to(ROOT)))
def test_relative_links_lead_somewhere(document: Path) -> None:
    assert broken(document) == []


def test_anchors_are_made_as_github_makes_them() -> None:
    assert anchor("Where the CPU of `POST /tickets` goes (profile before any fix)") == (
        "where-the-cpu-of-post-tickets-goes-profile-before-any-fix"
    )
    assert anchor("A ticket's way to its case (issue 13, item 5)") == (
        "a-tickets-way-to-its-case-issue-13-item-5"
    )


def test_a_link_to_a_missing_heading_is_found(tmp_path: Path) -> None:
    (tmp_path / "target.md").write_text("# Title\n\n## The relay\n\n```\n# not a heading\n```\n")
    source = tmp_path / "source.md"
    source.write_text(
        "[ok](target.md#the-relay) [gone](target.md#the-rebuild) [code](target.md#not-a-heading)"
        " [file](missing.md) [web](https://example.org/x#y) `[inline](nowhere.md)`\n"
    )
    problems = broken(source)
    assert [problem.split(":")[0] for problem in problems] == [
        "target.md#the-rebuild",
        "target.md#not-a-heading",
        "missing.md",
    ]
