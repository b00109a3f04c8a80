"""Controllers of a line: the Structured Text soft PLC and its tag-side façade."""

from twin.control.softplc import SoftPLC
from twin.control.st.errors import PlcFault, StError

__all__ = ["PlcFault", "SoftPLC", "StError"]
