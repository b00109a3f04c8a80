"""IEC 61131-3 Structured Text: parser, type checker and compiler to Python for the soft PLC."""
