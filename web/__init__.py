"""twin's web app (Dash): browse runs, replay them, compare them, run what-ifs."""

from web.app import create_app, serve

__all__ = ["create_app", "serve"]
