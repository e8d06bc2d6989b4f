"""Narrative blocks (title, paragraph, …) of bold and plain spans, and their Markdown."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = ["Block", "BlockKind", "Span", "narrative_markdown", "parse_block"]

BlockKind = Literal["title", "subtitle", "period", "heading", "subheading", "paragraph", "note"]


@dataclass(frozen=True)
class Span:
    text: str
    bold: bool = False


@dataclass(frozen=True)
class Block:
    kind: BlockKind
    spans: tuple[Span, ...]

    @property
    def text(self) -> str:
        return "".join(s.text for s in self.spans)


def parse_block(kind: BlockKind, text: str) -> Block:
    """A block from text where `**…**` marks bold spans."""
    parts = text.split("**")
    spans = tuple(Span(part, bold=i % 2 == 1) for i, part in enumerate(parts) if part)
    return Block(kind, spans)


def narrative_markdown(blocks: Sequence[Block]) -> str:
    lines: list[str] = []
    prefix = {"title": "# ", "heading": "## ", "subheading": "### "}
    for block in blocks:
        text = "".join(f"**{s.text}**" if s.bold else s.text for s in block.spans)
        if block.kind in prefix:
            text = prefix[block.kind] + block.text
        elif block.kind == "subtitle":
            text = f"**{block.text}**"
        elif block.kind in ("period", "note"):
            text = f"*{block.text}*"
        lines += [text, ""]
    return "\n".join(lines).rstrip("\n") + "\n"
