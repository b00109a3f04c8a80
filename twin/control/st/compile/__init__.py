"""Compiler of Structured Text to Python: checks a file and builds one module, once at load."""

from twin.control.st.compile.compiler import CompiledFile, compile_source

__all__ = ["CompiledFile", "compile_source"]
