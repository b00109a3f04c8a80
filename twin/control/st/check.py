"""Type rules the compiler checks: assignability with IEC implicit conversions, name suggestions."""

from __future__ import annotations

import difflib
from typing import Any

from twin.control.st.types import ANY_INT, ANY_REAL, ArrayType, Elementary, EnumType, widens


def suggest(name: str, candidates: dict[str, str]) -> str:
    """ "; did you mean 'motor'?" for the closest declared name (keys lower-case), else ""."""
    close = difflib.get_close_matches(name.lower(), list(candidates), n=1, cutoff=0.5)
    return f"; did you mean '{candidates[close[0]]}'?" if close else ""


def type_name(t: Any) -> str:
    if t is ANY_INT:
        return "an integer literal"
    if t is ANY_REAL:
        return "a REAL literal"
    return str(t)


def assign_problem(src: Any, dst: Any, const: Any = None, target: str = "") -> str | None:
    """Why a value of type ``src`` (constant value ``const`` if known) cannot go into ``dst``.

    ``target`` names the variable being assigned, for the message ("'count'").
    """
    if isinstance(dst, Elementary):
        if src is ANY_INT and dst.kind in ("int", "bits"):
            if const is not None and not dst.low <= const <= dst.high:
                where = f"{target}, a {dst}" if target else dst
                return f"{const} is out of range for {where} ({dst.low}..{dst.high})"
            return None
        if src in (ANY_INT, ANY_REAL) and dst.kind == "real":
            return None
        if isinstance(src, Elementary) and src.kind == dst.kind == "string":
            return None
    if widens(src, dst):
        return None
    hint = ""
    if isinstance(src, Elementary) and isinstance(dst, Elementary) and src not in (ANY_INT,):
        src_name = "LREAL" if src is ANY_REAL else src.name
        if src_name != dst.name:
            hint = f"; convert explicitly with {src_name}_TO_{dst.name}(...)"
    if isinstance(dst, EnumType) and src is ANY_INT:
        hint = f"; use one of its values, e.g. {dst.name}#{next(iter(dst.values.values()))[0]}"
    if isinstance(src, ArrayType) or isinstance(dst, ArrayType):
        hint = "; arrays must have the same element type and size"
    if target:
        return f"cannot assign {type_name(src)} to {target} of type {dst}{hint}"
    return f"cannot use {type_name(src)} as {dst}{hint}"
