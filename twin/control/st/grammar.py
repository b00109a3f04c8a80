"""The Structured Text grammar as an LALR parser, built once, and positions in a source."""

from __future__ import annotations

import functools
from pathlib import Path

import lark

_GRAMMAR = Path(__file__).with_name("grammar.lark")


@functools.cache
def st_parser() -> lark.Lark:
    """The LALR parser, built once per process (it is immutable once built)."""
    return lark.Lark(
        _GRAMMAR.read_text(encoding="utf-8"),
        parser="lalr",
        propagate_positions=True,
        maybe_placeholders=True,
    )


@functools.cache
def expression_parser() -> lark.Lark:
    """The same grammar started at one expression (checks such as ``NOT belt.run``)."""
    return lark.Lark(
        _GRAMMAR.read_text(encoding="utf-8"),
        parser="lalr",
        propagate_positions=True,
        maybe_placeholders=True,
        start="expr",
    )


def line_col(text: str, pos: int) -> tuple[int, int]:
    line = text.count("\n", 0, pos) + 1
    return line, pos - (text.rfind("\n", 0, pos) + 1) + 1
