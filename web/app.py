"""The app: pages behind one URL router, on a run store, and the server that serves it."""

from __future__ import annotations

import logging
import socket
import urllib.parse
from pathlib import Path

from dash import Dash, Input, Output
from werkzeug.serving import make_server

from twin.errors import TwinError
from web.context import WebContext
from web.pages import pages
from web.shell import frame, problem

ASSETS = Path(__file__).with_name("assets")
LOG = logging.getLogger("twin.web")


def create_app(folder: str | Path | None = None, *, read_only: bool = False) -> Dash:
    """The Dash app on the run store at ``folder`` (default: ``$TWIN_STORE`` or
    ``./twin-runs``); ``read_only`` leaves out everything that starts or deletes runs."""
    from twin.record.store import default_folder

    context = WebContext(Path(folder) if folder is not None else default_folder(), read_only)
    app = Dash(
        __name__,
        title="twin",
        assets_folder=str(ASSETS),
        suppress_callback_exceptions=True,  # pages bring their components as they are shown
        update_title=None,
        # Plotly and the table load with the app, not when a page first shows a chart: the
        # replay page of a big run then opens in one step.
        eager_loading=True,
    )
    app.layout = frame(read_only)
    every = pages()
    for page in every:
        page.register(app, context)

    @app.callback(Output("page", "children"), Input("url", "pathname"), Input("url", "search"))
    def route(pathname, search):
        path = pathname or "/"
        query = {k: v[-1] for k, v in urllib.parse.parse_qs((search or "").lstrip("?")).items()}
        for page in every:
            groups = page.match(path)
            if groups is None:
                continue
            try:
                return page.layout(context, query, **groups)
            except TwinError as error:  # a run that is not there, a log that cannot be read
                return problem("This cannot be shown", str(error))
            except Exception as error:  # a bug: a page that says so, one line in the log
                LOG.error("page %s failed: %s: %s", path, type(error).__name__, error)
                return problem("Something went wrong", f"{type(error).__name__}: {error}")
        return problem("No such page", f"There is no page at {path}.")

    app.server.config["TWIN_CONTEXT"] = context
    return app


def serve(app: Dash, host: str = "127.0.0.1", port: int = 8050) -> None:
    """Serve ``app`` until Ctrl-C (threads, so a long query does not hold up the others)."""
    # One line per request is noise in a terminal; errors are still logged.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    # Bound here, not by werkzeug, which exits the process over a port in use: the caller gets
    # an OSError it can turn into a message.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listening = socket.socket(family, socket.SOCK_STREAM)
    try:
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listening.bind((host, port))
        listening.listen(128)
    except OSError:
        listening.close()
        raise
    server = make_server(host, port, app.server, threaded=True, fd=listening.fileno())
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
