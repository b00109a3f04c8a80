"""Syntax errors of Structured Text told in words: which block is still open, what was
expected instead of what was found, and where."""

from __future__ import annotations

import difflib
import functools
import re

import lark
from lark import Token, Tree

from twin.control.st.errors import StError
from twin.control.st.grammar import line_col, st_parser

_WORDS = {
    "NAME": "a name",
    "LABEL_NAME": "a name",
    "INTEGER": "a number",
    "BASED_INT": "a number",
    "REAL_NUM": "a number",
    "TIME_LIT": "a TIME literal",
    "TYPED_LIT": "a typed literal",
    "STRING_LIT": "a string",
    "DIRECT": "a direct address",
    "VAR_KIND": "VAR",
    "$END": "end of file",
}
_OPERATORS = {
    "OR",
    "XOR",
    "AND",
    "AMP",
    "EQ",
    "NE",
    "LT",
    "GT",
    "LE",
    "GE",
    "PLUS",
    "MINUS",
    "STAR",
    "SLASH",
    "MOD",
    "POW",
    "LSQB",
    "DOT",
    "LPAR",
}
_EXPR_START = {"INTEGER", "REAL_NUM", "TIME_LIT", "STRING_LIT", "NOT"}
_OPENERS = {
    "IF": "END_IF",
    "CASE": "END_CASE",
    "FOR": "END_FOR",
    "WHILE": "END_WHILE",
    "REPEAT": "END_REPEAT",
    "PROGRAM": "END_PROGRAM",
    "FUNCTION_BLOCK": "END_FUNCTION_BLOCK",
    "FUNCTION": "END_FUNCTION",
    "TYPE": "END_TYPE",
    "STRUCT": "END_STRUCT",
    "VAR": "END_VAR",
    "VAR_INPUT": "END_VAR",
    "VAR_OUTPUT": "END_VAR",
    "VAR_IN_OUT": "END_VAR",
    "VAR_GLOBAL": "END_VAR",
    "VAR_EXTERNAL": "END_VAR",
    "VAR_TEMP": "END_VAR",
}
_WORD_RE = re.compile(r"'(\$.|[^'$\n])*'|[A-Za-z_][A-Za-z0-9_]*|#[A-Za-z0-9_.#]*")


_AWAITS = {"IF": "THEN", "ELSIF": "THEN", "WHILE": "DO", "FOR": "TO", "CASE": "OF"}
_CONDITION_OF = {
    "IF": "the IF condition",
    "WHILE": "the WHILE condition",
    "FOR": "the FOR loop's bounds",
    "CASE": "the CASE selector",
}


def _open_blocks(code: str, end: int, mismatch: list | None = None) -> list[list]:
    """The blocks [keyword, line, awaited keyword] still open at character ``end`` of the code.

    The awaited keyword is THEN for an IF whose condition is still being read, and so on.
    """
    stack: list[list] = []
    for m in _WORD_RE.finditer(code, 0, end):
        word = m.group(0).upper()
        if word in _OPENERS:
            stack.append([word, code.count("\n", 0, m.start()) + 1, _AWAITS.get(word)])
        elif word == "ELSIF" and stack:
            stack[-1][2] = "THEN"
        elif stack and word == stack[-1][2]:
            stack[-1][2] = "DO" if word == "TO" else None
        elif word.startswith("END_"):
            for k in range(len(stack) - 1, -1, -1):
                if _OPENERS[stack[k][0]] == word:
                    if k != len(stack) - 1 and mismatch is not None:
                        # END_PROGRAM while an IF is open: the IF's closer is missing.
                        mismatch.extend([stack[-1], m.start(), m.group(0)])
                        return stack
                    del stack[k:]
                    break
    return stack


def _describe_terminal(name: str) -> str:
    if name in _WORDS:
        return _WORDS[name]
    try:
        term = st_parser().get_terminal(name)
    except KeyError:
        return name.lower()
    value = term.pattern.value
    if term.pattern.type == "str":
        return value.upper() if value[:1].isalpha() else f"'{value}'"
    return name


@functools.cache
def _terminal_named(text: str) -> str:
    """Lark's name for the anonymous terminal of ``text`` (such as ':=')."""
    for t in st_parser().terminals:
        if t.pattern.type == "str" and t.pattern.value == text:
            return t.name
    return text


@functools.cache
def _keywords() -> frozenset[str]:
    names = {t.name for t in st_parser().terminals if t.pattern.type == "str"}
    return frozenset(names | set(_OPENERS))


def _describe_token(token: Token) -> str:
    if token.type == "$END":
        return "end of file"
    if token.type in ("NAME", "LABEL_NAME"):
        if token.value.upper() in _keywords():
            return f"'{token.value}'"
        return f"name '{token.value}'"
    return f"'{token.value}'"


def syntax_error(err: lark.exceptions.UnexpectedInput, code: str, source: str, file: str):
    def located(message: str, line: int, col: int) -> StError:
        return StError(message, file=file, line=line, column=col, source=source)

    if isinstance(err, lark.exceptions.UnexpectedCharacters):
        char = code[err.pos_in_stream]
        if char == "'":
            return located("string is never closed; end it with '", err.line, err.column)
        if char == '"':
            msg = "strings are written in single quotes: 'text'"
            return located(msg, err.line, err.column)
        allowed = {t for t in err.allowed if t not in _OPERATORS} or set(err.allowed)
        words = _join_expected(allowed)
        return located(f"unexpected character {char!r}; expected {words}", err.line, err.column)

    token: Token = err.token  # UnexpectedToken or UnexpectedEOF
    expected = set(getattr(err, "expected", ()) or ())
    if isinstance(err, lark.exceptions.UnexpectedEOF) or token.type == "$END":
        pos, line, col = len(code), code.count("\n") + 1, 1
        line, col = line_col(code, len(code.rstrip()))
    else:
        pos, line, col = token.start_pos, token.line, token.column
    found = _describe_token(token) if token is not None else "end of file"
    mismatch: list = []
    stack = _open_blocks(code, pos, mismatch)
    if mismatch:
        (opener, opened_at, _), at, word = mismatch
        what = "VAR section" if opener.startswith("VAR") else opener
        line, col = line_col(code, at)
        msg = f"expected {_OPENERS[opener]} to close the {what} at line {opened_at}, found '{word}'"
        return located(msg, line, col)
    if token.type == "$END" and stack:
        opener, opened_at, _ = stack[-1]
        what = "VAR section" if opener.startswith("VAR") else opener
        msg = f"expected {_OPENERS[opener]} to close the {what} at line {opened_at}, found {found}"
        words = list(_WORD_RE.finditer(code))
        if words:
            last = words[-1]
            close = difflib.get_close_matches(last.group(0).upper(), [_OPENERS[opener]], n=1)
            if close:
                line, col = line_col(code, last.start())
                msg = (
                    f"expected {_OPENERS[opener]} to close the {what} at line {opened_at}; "
                    f"'{last.group(0)}' is misspelled"
                )
        return located(msg, line, col)
    closers = {t for t in expected if t.startswith("END_")}
    if stack and _OPENERS[stack[-1][0]] in closers:
        opener, opened_at, _ = stack[-1]
        closer = _OPENERS[opener]
        looks_closing = (
            token.type == "$END"
            or token.type.startswith("END_")
            or token.type
            in (
                "PROGRAM",
                "FUNCTION",
                "FUNCTION_BLOCK",
                "TYPE",
                "VAR_KIND",
                "ELSE",
                "ELSIF",
                "UNTIL",
            )
        )
        if looks_closing:
            what = "VAR section" if closer == "END_VAR" else opener
            msg = f"expected {closer} to close the {what} at line {opened_at}, found {found}"
            return located(msg, line, col)
    if stack and stack[-1][2] in expected:
        awaited, opener = stack[-1][2], stack[-1][0]
        msg = f"expected {awaited} after {_CONDITION_OF[opener]}, found {found}"
        return located(msg, line, col)
    if "SEMICOLON" in expected and _open_bracket(code, pos):
        closer = _open_bracket(code, pos)
        msg = f"expected ',' or '{closer}', found {found}"
        return located(msg, line, col)
    if "SEMICOLON" in expected:
        if stack and _OPENERS[stack[-1][0]] == "END_VAR":
            after = "the declaration"
        elif _has_assign(err):
            after = "the assignment"
        else:
            after = "the statement"
        end_line, end_col = _end_of_previous(err) or (line, col)
        return located(f"expected ';' after {after}, found {found}", end_line, end_col)
    assign = _terminal_named(":=")
    if assign in expected and "SEMICOLON" not in expected and not _open_bracket(code, pos):
        if token.value == "=":
            return located("'=' compares; assign with ':='", line, col)
        return located(f"expected ':=' or '(' after the name, found {found}", line, col)
    if expected & _EXPR_START and token.type not in _EXPR_START:
        return located(f"expected an expression, found {found}", line, col)
    structural = {t for t in expected if t not in _OPERATORS} or expected
    return located(f"expected {_join_expected(structural)}, found {found}", line, col)


def _open_bracket(code: str, pos: int) -> str:
    """The bracket still open between the last ';' and ``pos`` (')' or ']'), or ''."""
    start = code.rfind(";", 0, pos) + 1
    opened: list[str] = []
    for m in re.finditer(r"'(\$.|[^'$\n])*'|[()\[\]]", code[start:pos]):
        c = m.group(0)
        if c in "([":
            opened.append(")" if c == "(" else "]")
        elif c in ")]" and opened:
            opened.pop()
    return opened[-1] if opened else ""


def _has_assign(err) -> bool:
    state = getattr(err, "state", None)
    stack = getattr(state, "value_stack", None) or []
    for item in reversed(stack):
        if isinstance(item, Token):
            if item.value == ":=":
                return True
            if item.type in ("SEMICOLON", "THEN", "DO", "ELSE"):
                return False
    return False


def _end_of_previous(err) -> tuple[int, int] | None:
    """Line and column just after the last thing parsed, where a missing ';' belongs."""
    state = getattr(err, "state", None)
    stack = getattr(state, "value_stack", None) or []
    if not stack:
        return None
    last = stack[-1]
    if isinstance(last, Token) and last.end_line is not None:
        return last.end_line, last.end_column
    if isinstance(last, Tree) and not last.meta.empty:
        return last.meta.end_line, last.meta.end_column
    return None


def _join_expected(names: set[str]) -> str:
    words = sorted({_describe_terminal(t) for t in names})
    if len(words) > 6:
        words = [*words[:6], "..."]
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " or " + words[-1]
