"""The ST compiler assembled from its parts, and `compile_source`, the way to use it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from twin.control.st import nodes as n
from twin.control.st.compile.calls import Calls
from twin.control.st.compile.core import Pou
from twin.control.st.compile.declarations import Declarations
from twin.control.st.compile.emit import Emission
from twin.control.st.compile.expressions import Expressions
from twin.control.st.compile.listing import LineInfo
from twin.control.st.compile.statements import Statements
from twin.control.st.coverage import Coverage, Probe
from twin.control.st.parser import parse
from twin.control.st.types import StructType, Var


@dataclass
class CompiledFile:
    """The result of compiling one ST file: the Python namespace and the maps back to ST."""

    filename: str
    source: str
    python: str
    namespace: dict[str, Any]
    programs: dict[str, Pou]
    globals: dict[str, Var]
    lines: list[LineInfo | None]
    positions: list[tuple[int, int]]
    code_name: str
    probes: tuple[Probe, ...] = field(default=())  # a coverage build's
    probe_counters: tuple[int, ...] = field(default=())  # each probe's counter in cov__

    @property
    def is_coverage_build(self) -> bool:
        return "cov__" in self.namespace

    def coverage(self) -> Coverage:
        """What the probes have counted so far, in every PLC made from this file."""
        if not self.is_coverage_build:
            raise ValueError(
                f"{self.filename} was not compiled for coverage; compile it with "
                "compile_source(..., coverage=True)"
            )
        counters = self.namespace["cov__"]
        counts = tuple(counters[i] for i in self.probe_counters)
        return Coverage(self.filename, self.source, self.probes, counts)


def compile_source(source: str, filename: str = "<text>", coverage: bool = False) -> CompiledFile:
    """Parse, check and compile ST source; raise StError pointing into the source if bad.

    With ``coverage`` the generated Python also counts each statement and each outcome of
    every IF, CASE and loop (``CompiledFile.coverage()`` reads the counts); without it the
    Python is exactly that of a build which has never heard of coverage.
    """
    return _Compiler(source, filename, coverage).run(parse(source, filename))


class _Compiler(Declarations, Emission, Statements, Expressions, Calls):
    """One compilation of one file: declare everything, emit the module, then execute it."""

    def run(self, f: n.SourceFile) -> CompiledFile:
        for t in f.types:
            self.declare_type(t)
        for t in f.types:
            self.resolve_named_type(t.name.lower(), t)
        for p in f.pous:
            self.declare_pou(p)
        for d in f.globals:
            self.declare_global(d)
        for pou in self.pous.values():
            self.declare_pou_vars(pou)
        self.emit_header()
        for t in self.types.values():
            if isinstance(t, StructType):
                self.emit_struct(t)
        self.emit_globals_class()
        for pou in self.pous.values():
            self.emit_pou(pou)
        python = "\n".join(self.out.python) + "\n"
        code_name = f"<st {self.filename}>"
        namespace = self.namespace()
        if self.coverage:
            namespace["cov__"] = [0] * self.counter_total
        exec(compile(python, code_name, "exec"), namespace)
        programs = {k: p for k, p in self.pous.items() if p.kind == "PROGRAM"}
        return CompiledFile(
            self.filename,
            self.source,
            python,
            namespace,
            programs,
            self.globals,
            self.out.lines,
            self.out.positions,
            code_name,
            tuple(self.probes),
            tuple(self.probe_counters),
        )
