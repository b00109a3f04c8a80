"""The what-if page: a run's scenario as a form; changed values start a new run, shown with a
progress bar, that lands on its comparison with the original."""

from __future__ import annotations

import itertools

from dash import ALL, Dash, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from twin.record.store import RunInfo, StoreError
from web.context import WebContext
from web.pages import Page
from web.shell import problem
from web.whatif.fields import DURATION, RUN, FormField, form_fields
from web.whatif.runner import DONE, INVALID, RUNNING, Refused, Status, WhatIfRunner

POLL_MS = 400
FIELD, ERROR = "whatif-field", "whatif-error"
HIDDEN, SHOWN = {"display": "none"}, {"display": "flex"}
UNIT_TITLES = {DURATION: "seconds, or a number with its unit: 250ms, 90s, 5min, 2h, 1d"}


def layout(context: WebContext, query: dict[str, str], run_id: str) -> html.Div:
    try:
        run = context.store().get(run_id)
    except StoreError as error:
        return problem("No such run", str(error))
    heading = [
        html.H1(f"What if — {run.scenario_name}"),
        html.P(
            [
                "From run ",
                dcc.Link(run.short_id, href=f"/replay/{run.id}"),
                f" ({run.variant or 'the file as written'}). The new run keeps this run's "
                "scenario and records your changes with it; the scenario file stays as it is.",
            ],
            className="hint",
        ),
    ]
    if context.read_only:
        return _disabled(run, heading)
    fields = form_fields(run.scenario_text, source=run.scenario_source, overrides=run.overrides)
    groups = []
    for group, members in itertools.groupby(fields, key=lambda f: f.group):
        members = list(members)
        legend = "Run settings" if group == RUN else f"{group} · {members[0].kind}"
        groups.append(
            html.Fieldset(
                [html.Legend(legend), *(_row(f) for f in members)], className="whatif-group"
            )
        )
    return html.Div(
        [
            *heading,
            html.Div(
                [
                    html.Button("Run", id="whatif-run", className="whatif-start"),
                    html.Span("Change values, then run.", id="whatif-changed", className="hint"),
                    html.Div(
                        [
                            html.Div(
                                html.Div(id="whatif-bar", className="whatif-bar-done"),
                                className="whatif-bar",
                            ),
                            html.Span(id="whatif-progress-text"),
                        ],
                        id="whatif-progress",
                        className="whatif-progress",
                        style=HIDDEN,
                    ),
                ],
                className="toolbar whatif-toolbar",
            ),
            html.Div(id="whatif-message"),
            html.Div(groups, className="whatif-form"),
            dcc.Interval(id="whatif-poll", interval=POLL_MS, disabled=True),
            dcc.Store(id="whatif-job"),
            dcc.Store(id="whatif-original", data={f.path: f.value for f in fields}),
            dcc.Store(id="whatif-run-id", data=run.id),
        ]
    )


def _row(field: FormField) -> html.Div:
    unit = field.unit
    return html.Div(
        [
            html.Label(
                [
                    html.Span(field.label, className="whatif-label"),
                    dcc.Input(
                        id={"type": FIELD, "path": field.path},
                        name=field.path,
                        type="text",
                        value=field.value,
                        placeholder=field.blank,
                        className="whatif-input",
                        spellCheck=False,
                        autoComplete="off",
                    ),
                    html.Span(unit, className="whatif-unit", title=UNIT_TITLES.get(unit, unit)),
                ],
                title=field.path,
            ),
            html.Div(
                id={"type": ERROR, "path": field.path},
                className="whatif-error",
                **{"data-path": field.path},
            ),
        ],
        className="whatif-row",
    )


def _disabled(run: RunInfo, heading: list) -> html.Div:
    settings = "".join(f" --set {setting}" for setting in run.overrides)
    return html.Div(
        [
            *heading,
            html.P(
                "What-if is disabled: this app was started with --read-only, so it starts no "
                "runs. Start `twin ui` without --read-only to ask what if, or run a change "
                "from a terminal:",
                className="banner whatif-disabled",
            ),
            html.Pre(f"twin run {run.scenario_source}{settings} --set ...", className="command"),
            dcc.Link("← All runs", href="/", className="back"),
        ]
    )


def register(app: Dash, context: WebContext) -> None:
    if context.read_only:
        return  # its page has no form and no Run button
    runner = WhatIfRunner(context.folder)  # one what-if at a time for the whole app

    # Changed fields are marked as they are typed, in the browser.
    app.clientside_callback(
        """
        function(values, ids, original) {
            const changed = values.map(
                (v, i) => String(v ?? '').trim() !== (original || {})[ids[i].path]);
            const n = changed.filter(Boolean).length;
            return [changed.map(c => c ? 'whatif-input changed' : 'whatif-input'),
                    n ? `${n} value${n > 1 ? 's' : ''} changed` : 'Change values, then run.'];
        }
        """,
        Output({"type": FIELD, "path": ALL}, "className"),
        Output("whatif-changed", "children"),
        Input({"type": FIELD, "path": ALL}, "value"),
        State({"type": FIELD, "path": ALL}, "id"),
        State("whatif-original", "data"),
    )

    @app.callback(
        Output({"type": ERROR, "path": ALL}, "children"),
        Output("whatif-message", "children"),
        Output("whatif-message", "className"),
        Output("whatif-progress", "style"),
        Output("whatif-bar", "style"),
        Output("whatif-progress-text", "children"),
        Output("whatif-poll", "disabled"),
        Output("whatif-run", "disabled"),
        Output("whatif-job", "data"),
        Output("url", "href", allow_duplicate=True),
        Input("whatif-run", "n_clicks"),
        Input("whatif-poll", "n_intervals"),
        State({"type": FIELD, "path": ALL}, "value"),
        State({"type": FIELD, "path": ALL}, "id"),
        State("whatif-job", "data"),
        State("whatif-run-id", "data"),
        prevent_initial_call=True,
    )
    def act(clicks, ticks, values, ids, job, run_id):
        # Dash calls it once as the page's components appear, clicked or not.
        if not clicks and not ticks:
            raise PreventUpdate
        paths = [i["path"] for i in ids]
        if ctx.triggered_id == "whatif-run":
            try:
                original = context.store().get(run_id)
            except StoreError as error:  # deleted since the page was shown
                return _idle(paths, str(error), "banner banner-failed")
            outcome = runner.start(original, dict(zip(paths, values, strict=True)))
            if isinstance(outcome, Refused):
                return _refused(paths, outcome)
            return _progress(paths, outcome)
        status = runner.status(job) if job is not None else None
        if status is None:  # the app was restarted under the page
            return _idle(paths, "The what-if this page started is gone; run it again.")
        if status.state == RUNNING:
            return _progress(paths, status)
        if status.state == DONE:  # on to the comparison with the original
            href = f"/compare?runs={status.original_id[:8]},{status.run_id[:8]}"
            return _idle(paths, f"Done: run {status.run_id[:8]}.", href=href)
        if status.state == INVALID:  # what only building the line found
            return _refused(paths, Refused(status.error or "", status.errors))
        # FAILED: the run started and broke off; the store keeps it, marked failed.
        return _idle(paths, f"The what-if failed: {status.error}", "banner banner-failed")


def _progress(paths: list[str], status: Status) -> tuple:
    percent = round(100 * status.fraction)
    text = f"{status.replications_done} of {status.replications} replications done · {percent} %"
    message = f"Running {status.label} …"
    return (
        [""] * len(paths),
        message,
        "banner banner-running",
        SHOWN,
        {"width": f"{percent}%"},
        text,
        False,
        True,
        status.job,
        no_update,
    )


def _refused(paths: list[str], refused: Refused) -> tuple:
    errors = [refused.errors.get(path, "") for path in paths]
    message = refused.message  # the CLI's, when it is about no field of the form
    if refused.errors:
        message = "Nothing was started: a value cannot be used; the message is next to the field."
    kind = "banner banner-failed" if refused.reason == INVALID else "banner whatif-note"
    return (errors, message, kind, HIDDEN, no_update, "", True, False, None, no_update)


def _idle(
    paths: list[str], message: str, kind: str = "banner whatif-note", href: object = no_update
) -> tuple:
    return ([""] * len(paths), message, kind, HIDDEN, no_update, "", True, False, None, href)


PAGE = Page(pattern=r"/whatif/(?P<run_id>[^/]+)", title="What if", layout=layout, register=register)
