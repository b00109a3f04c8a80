"""twin: a digital twin and virtual-commissioning simulator for production lines."""

__version__ = "0.1.0"
