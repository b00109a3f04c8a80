"""Structured Text source to a syntax tree (nodes.py), with syntax errors in human words."""

from __future__ import annotations

import lark
from lark import Token, Tree

from twin.control.st import nodes as n
from twin.control.st.errors import StError
from twin.control.st.grammar import expression_parser, line_col, st_parser
from twin.control.st.syntax_errors import syntax_error


def parse(source: str, filename: str = "<text>") -> n.SourceFile:
    """Parse one ST file into declarations and POUs; raise StError on a syntax error."""
    code = blank_comments(source, filename)
    try:
        tree = st_parser().parse(code)
    except lark.exceptions.UnexpectedInput as err:
        raise syntax_error(err, code, source, filename) from None
    return _Builder(source, filename).file(tree)


def parse_expression(text: str, filename: str = "<expression>"):
    """Parse one ST expression (no statement, no ``;``) into its node; StError if it is not
    one. Positions are 1-based within ``text``."""
    code = blank_comments(text, filename)
    try:
        tree = expression_parser().parse(code)
    except lark.exceptions.UnexpectedToken as err:
        if "$END" in (err.accepts or err.expected):  # a whole expression followed by more
            raise StError(
                f"expected an operator or the end of the expression, found {err.token.value!r}",
                file=filename,
                line=err.line,
                column=err.column,
                source=text,
            ) from None
        raise syntax_error(err, code, text, filename) from None
    except lark.exceptions.UnexpectedInput as err:
        raise syntax_error(err, code, text, filename) from None
    return _Builder(text, filename).expr(tree)


def blank_comments(source: str, filename: str) -> str:
    """The source with (* nested *) and // comments and {pragmas} replaced by spaces.

    Lengths and newlines are kept, so every line and column still points into the original.
    """
    out = list(source)
    i, size = 0, len(source)
    depth_starts: list[int] = []
    while i < size:
        c = source[i]
        pair = source[i : i + 2]
        if depth_starts:
            if pair == "(*":
                depth_starts.append(i)
                out[i] = out[i + 1] = " "
                i += 2
            elif pair == "*)":
                depth_starts.pop()
                out[i] = out[i + 1] = " "
                i += 2
            else:
                if c != "\n":
                    out[i] = " "
                i += 1
        elif pair == "(*":
            depth_starts.append(i)
            out[i] = out[i + 1] = " "
            i += 2
        elif pair == "//":
            while i < size and source[i] != "\n":
                out[i] = " "
                i += 1
        elif c == "{":
            end = source.find("}", i)
            end = size - 1 if end < 0 else end
            for j in range(i, end + 1):
                if source[j] != "\n":
                    out[j] = " "
            i = end + 1
        elif c == "'":
            i += 1
            while i < size and source[i] not in "'\n":
                i += 2 if source[i] == "$" else 1
            i += 1
        else:
            i += 1
    if depth_starts:
        line, col = line_col(source, depth_starts[0])
        raise StError(
            "comment '(*' is never closed; end it with '*)'",
            file=filename,
            line=line,
            column=col,
            source=source,
        )
    return "".join(out)


# ---- lark tree to nodes ----
_SECTIONS = {
    "VAR": "var",
    "VAR_INPUT": "input",
    "VAR_OUTPUT": "output",
    "VAR_IN_OUT": "in_out",
    "VAR_GLOBAL": "global",
    "VAR_EXTERNAL": "external",
    "VAR_TEMP": "temp",
}


class _Builder:
    """Walks lark's parse tree and builds the nodes; keeps the source for error messages."""

    def __init__(self, source: str, filename: str) -> None:
        self.source = source
        self.filename = filename

    def file(self, tree: Tree) -> n.SourceFile:
        out = n.SourceFile()
        for item in tree.children:
            if item.data in ("program", "function_block", "function"):
                out.pous.append(self.pou(item))
            elif item.data == "type_block":
                out.types.extend(self.type_def(t) for t in item.children[1:-1])
            else:
                decls = self.var_block(item)
                for d in decls:
                    if d.section != "global":
                        raise StError(
                            f"only VAR_GLOBAL sections may stand outside a POU, not "
                            f"{item.children[0].value.upper()}",
                            file=self.filename,
                            line=item.meta.line,
                            column=item.meta.column,
                            source=self.source,
                        )
                out.globals.extend(decls)
        return out

    def check_name(self, tok: Token) -> None:
        if "__" in tok.value:
            raise StError(
                f"'{tok.value}': ST names cannot contain two underscores in a row",
                file=self.filename,
                line=tok.line,
                column=tok.column,
                source=self.source,
            )

    def pou(self, t: Tree) -> n.Pou:
        kids = t.children
        kind = kids[0].value.upper()
        name = kids[1]
        self.check_name(name)
        rest = kids[2:-1]
        return_type = None
        if kind == "FUNCTION":
            return_type, rest = self.type_ref(rest[0]), rest[1:]
        decls: list[n.VarDecl] = []
        for block in rest[:-1]:
            decls.extend(self.var_block(block))
        body = self.stmts(rest[-1])
        return n.Pou(name.line, name.column, kind, str(name), return_type, decls, body)

    def type_def(self, t: Tree):
        name = t.children[0]
        self.check_name(name)
        if t.data == "struct_def":
            fields: list[n.VarDecl] = []
            for f in t.children[2:]:
                if isinstance(f, Tree) and f.data == "struct_field":
                    fields.extend(self.var_decl(f, "var", False))
            return n.StructDef(name.line, name.column, str(name), fields)
        if t.data == "enum_def":
            values = []
            default = None
            for v in t.children[1:]:
                if isinstance(v, Tree):
                    vn, vv = v.children
                    values.append(
                        (str(vn), vn.line, vn.column, self.label_value(vv) if vv else None)
                    )
                elif isinstance(v, Token):
                    default = str(v)
            return n.EnumDef(name.line, name.column, str(name), values, default)
        type_ref, init = t.children[1], t.children[2]
        return n.AliasDef(
            name.line, name.column, str(name), self.type_ref(type_ref), self.init(init)
        )

    def var_block(self, t: Tree) -> list[n.VarDecl]:
        section = _SECTIONS[t.children[0].value.upper()]
        constant = False
        decls: list[n.VarDecl] = []
        for item in t.children[1:-1]:
            if item.data == "var_qual":
                constant |= item.children[0].type == "CONSTANT"
            else:
                decls.extend(self.var_decl(item, section, constant))
        return decls

    def var_decl(self, t: Tree, section: str, constant: bool) -> list[n.VarDecl]:
        kids = t.children
        names = [k for k in kids if isinstance(k, Token) and k.type == "NAME"]
        for name in names:
            self.check_name(name)
        address = next(
            (str(k).upper() for k in kids if isinstance(k, Token) and k.type == "DIRECT"), None
        )
        trees = [k for k in kids if isinstance(k, Tree)]
        type_ref = self.type_ref(trees[0])
        init_tree = kids[-1]
        init = self.init(init_tree) if init_tree is not None else None
        return [
            n.VarDecl(nm.line, nm.column, str(nm), type_ref, init, section, constant, address)
            for nm in names
        ]

    def type_ref(self, t: Tree):
        if t.data == "named_type":
            tok = t.children[0]
            return n.NamedType(tok.line, tok.column, str(tok))
        if t.data == "sized_type":
            tok = t.children[0]
            return n.NamedType(tok.line, tok.column, str(tok), self.expr(t.children[1]))
        ranges = [
            (self.expr(s.children[0]), self.expr(s.children[1]))
            for s in t.children
            if isinstance(s, Tree) and s.data == "subrange"
        ]
        return n.ArrayTypeRef(t.meta.line, t.meta.column, ranges, self.type_ref(t.children[-1]))

    def init(self, t):
        if t is None:
            return None
        if isinstance(t, Tree) and t.data == "array_init":
            items = []
            for item in t.children:
                if isinstance(item, Tree) and item.data == "repeat_item":
                    count, inner = item.children
                    count_node = n.Literal(count.line, count.column, "int", str(count))
                    items.append((count_node, self.init(inner)))
                else:
                    items.append((None, self.init(item)))
            return n.ArrayInit(t.meta.line, t.meta.column, items)
        if isinstance(t, Tree) and t.data == "struct_init":
            fields = []
            for f in t.children:
                name, value = f.children
                fields.append((str(name), name.line, name.column, self.init(value)))
            return n.StructInit(t.meta.line, t.meta.column, fields)
        return self.expr(t)

    # ---- statements ----
    def stmts(self, t: Tree) -> list:
        out = []
        for s in t.children:
            stmt = self.stmt(s)
            if stmt is not None:
                out.append(stmt)
        return out

    def stmt(self, t: Tree):
        kind = t.data
        line, col = t.meta.line, t.meta.column
        k = t.children
        if kind == "assign_stmt":
            return n.Assign(line, col, self.expr(k[0]), self.expr(k[1]))
        if kind == "call_stmt":
            return n.CallStmt(line, col, self.expr(k[0]), self.args(k[1:]))
        if kind == "if_stmt":
            branches = [(self.expr(k[1]), self.stmts(k[3]))]
            else_body = None
            i = 4
            while i < len(k):
                item = k[i]
                if isinstance(item, Tree) and item.data == "elsif_part":
                    branches.append((self.expr(item.children[1]), self.stmts(item.children[3])))
                elif isinstance(item, Tree) and item.data == "stmt_list":
                    else_body = self.stmts(item)
                i += 1
            return n.If(line, col, branches, else_body)
        if kind == "case_stmt":
            elems = []
            else_body = None
            for item in k[3:]:
                if isinstance(item, Tree) and item.data == "case_elem":
                    labels = [self.case_label(lb) for lb in item.children[:-1]]
                    elems.append((labels, self.stmts(item.children[-1])))
                elif isinstance(item, Tree) and item.data == "stmt_list":
                    else_body = self.stmts(item)
            return n.Case(line, col, self.expr(k[1]), elems, else_body)
        if kind == "for_stmt":
            step = self.expr(k[6]) if k[6] is not None else None
            return n.For(
                line, col, str(k[1]), self.expr(k[2]), self.expr(k[4]), step, self.stmts(k[8])
            )
        if kind == "while_stmt":
            return n.While(line, col, self.expr(k[1]), self.stmts(k[3]))
        if kind == "repeat_stmt":
            return n.Repeat(line, col, self.stmts(k[1]), self.expr(k[3]))
        if kind == "exit_stmt":
            return n.Exit(line, col)
        if kind == "return_stmt":
            return n.Return(line, col)
        return None  # empty statement

    def case_label(self, t: Tree) -> n.CaseLabel:
        low, high = t.children
        return n.CaseLabel(
            t.meta.line,
            t.meta.column,
            self.label_value(low),
            self.label_value(high) if high is not None else None,
        )

    def label_value(self, v):
        if isinstance(v, Token):
            if v.type == "LABEL_NAME":
                return n.Name(v.line, v.column, str(v))
            return self.literal_token(v)
        sign, number = v.children
        lit = self.literal_token(number)
        if sign is not None:
            return n.Unary(sign.line, sign.column, "-", lit)
        return lit

    def args(self, items) -> list[n.Arg]:
        out = []
        for a in items:
            if a is None:
                continue
            if a.data == "named_arg":
                name, value = a.children
                out.append(n.Arg(name.line, name.column, str(name), value=self.expr(value)))
            elif a.data == "output_arg":
                name, target = a.children
                out.append(n.Arg(name.line, name.column, str(name), target=self.expr(target)))
            else:
                out.append(n.Arg(a.meta.line, a.meta.column, None, value=self.expr(a.children[0])))
        return out

    # ---- expressions ----
    def expr(self, t):
        if isinstance(t, Token):
            if t.type in ("NAME", "LABEL_NAME"):
                return n.Name(t.line, t.column, str(t))
            return self.literal_token(t)
        kind = t.data
        k = t.children
        if kind == "binary":
            op = k[1]
            name = "AND" if op.type == "AMP" else op.value.upper()
            return n.Binary(op.line, op.column, name, self.expr(k[0]), self.expr(k[2]))
        if kind == "unary":
            op = k[0]
            return n.Unary(op.line, op.column, op.value.upper(), self.expr(k[1]))
        if kind == "literal":
            return self.literal_token(k[0])
        if kind == "name_ref":
            return n.Name(k[0].line, k[0].column, str(k[0]))
        if kind == "direct_ref":
            return n.Direct(k[0].line, k[0].column, str(k[0]).upper())
        if kind == "member":
            return n.Member(k[1].line, k[1].column, self.expr(k[0]), str(k[1]))
        if kind == "index":
            return n.Index(
                t.meta.line, t.meta.column, self.expr(k[0]), [self.expr(x) for x in k[1:]]
            )
        if kind == "call":
            return n.Call(k[0].line, k[0].column, str(k[0]), self.args(k[1:]))
        raise AssertionError(f"unknown tree node {kind}")

    def literal_token(self, tok: Token) -> n.Literal:
        kinds = {
            "INTEGER": "int",
            "BASED_INT": "int",
            "REAL_NUM": "real",
            "TIME_LIT": "time",
            "TYPED_LIT": "typed",
            "STRING_LIT": "string",
            "TRUE": "bool",
            "FALSE": "bool",
        }
        kind = kinds[tok.type]
        prefix = str(tok).split("#", 1)[0] if kind == "typed" else ""
        return n.Literal(tok.line, tok.column, kind, str(tok), prefix)
