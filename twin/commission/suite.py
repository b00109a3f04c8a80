"""A scenario's checks and cases checked at load, and each case made into the settings of
one run: its horizon, seed, operator actions and faults."""

from __future__ import annotations

import difflib

import yaml

from twin.commission.expressions import ExpressionError
from twin.commission.judge import Check, compile_check
from twin.commission.names import UnknownName, Vocabulary
from twin.errors import ScenarioError
from twin.scenario import Scenario
from twin.scenario.loader import raw_scenario
from twin.scenario.schema import Key, dotted
from twin.scenario.schema.checks import CaseSpec
from twin.scenario.schema.faults import FaultError, check_fault_names
from twin.scenario.settings import FAULT_SETTING

DEFAULT_CASE = "default"  # the one case of a scenario that has checks but no cases


def compile_checks(scenario: Scenario) -> list[Check]:
    """The scenario's checks, compiled; a wrong name or expression raises a ScenarioError
    placed at the check's line."""
    vocabulary = Vocabulary(scenario)
    compiled = []
    for index, spec in enumerate(scenario.checks):
        try:
            compiled.append(compile_check(spec, vocabulary))
        except ExpressionError as error:
            field = getattr(error, "field", "")
            path = f"checks[{index}].{field}" if field else f"checks[{index}]"
            raise scenario.locate(ScenarioError(str(error), path=path)) from None
        except UnknownName as error:
            raise scenario.locate(ScenarioError(str(error), path=f"checks[{index}].kpi")) from None
    return compiled


def validate(scenario: Scenario) -> None:
    """Refuse checks and cases that name what the scenario does not have (a tag, a state, a
    KPI, a check, a panel control, a fault's target), placed at their line with the closest
    valid name."""
    compile_checks(scenario)
    names = [check.name for check in scenario.checks]
    for position, (name, case) in enumerate(scenario.cases.items()):
        key = case_key(scenario, name, position)
        for index, wanted in enumerate(case.checks or ()):
            if wanted not in names:
                close = difflib.get_close_matches(wanted, names, n=1)
                guess = f" (did you mean {close[0]!r}?)" if close else ""
                listed = ", ".join(repr(n) for n in names) or "none yet"
                raise scenario.locate(
                    ScenarioError(
                        f"case {name!r} names check {wanted!r}, which the scenario does not "
                        f"have{guess}; its checks: {listed}",
                        path=dotted((*key, "checks", index)),
                    )
                )
        for index, action in enumerate(case.operator):
            try:
                panel_control(scenario, action)
            except ValueError as error:
                path = dotted((*key, "operator", index))
                raise scenario.locate(ScenarioError(str(error), path=path)) from None
        try:
            check_fault_names(
                list(case.faults),
                scenario.elements,
                scenario.parts,
                scenario.tags,
                at=(*key, "faults"),
            )
        except FaultError as error:
            raise scenario.locate(ScenarioError(error.message, path=dotted(error.key))) from None


def case_key(scenario: Scenario, name: str, position: int) -> Key:
    """Where a case is written: ``cases.good`` in the mapping form, ``cases[0]`` in a list."""
    lines = scenario.origins.lines if scenario.origins is not None else {}
    if ("cases", position) in lines and ("cases", name) not in lines:
        return ("cases", position)
    return ("cases", name)


def panel_control(scenario: Scenario, action) -> tuple[str, str]:
    """(panel, control) an operator action of a case works: ``panel.estop``, or ``estop``
    where the scenario has one panel. ValueError saying what would be valid."""
    panels = scenario.element_ids("panel")
    written = action.control
    panel, _, control = written.rpartition(".")
    if not panel:
        if len(panels) != 1:
            said = "no panel" if not panels else f"the panels {', '.join(panels)}"
            raise ValueError(
                f"{written!r}: the scenario has {said}; name the panel and its control, e.g. "
                f"{(panels or ['panel'])[0]}.{written}"
            )
        panel = panels[0]
    elif panel not in panels:
        close = difflib.get_close_matches(panel, panels, n=1)
        guess = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(
            f"{panel!r} is not a panel{guess}; the operator works "
            f"{', '.join(panels) or 'no panel in this scenario'}"
        )
    spec = scenario.elements[panel]
    pressing = action.press is not None or action.release is not None
    usable = [*spec.buttons, *(["estop"] if spec.estop else [])] if pressing else spec.switches
    if control not in usable:
        verb = "pressed" if pressing else "switched"
        close = difflib.get_close_matches(control, usable, n=1)
        guess = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(
            f"{panel}.{control} cannot be {verb}{guess}; the panel's controls of that kind: "
            f"{', '.join(usable) or 'none'}"
        )
    return panel, control


def cases_of(scenario: Scenario) -> dict[str, CaseSpec]:
    """The scenario's cases; a scenario with checks but no cases has one, run as it is."""
    if scenario.cases:
        return dict(scenario.cases)
    return {DEFAULT_CASE: CaseSpec(name=DEFAULT_CASE)}


def case_settings(scenario: Scenario, name: str) -> list[str]:
    """The ``--set`` style settings that make the scenario run as case ``name``: horizon,
    seed, each panel's operator actions (its own, then the case's), and the case's faults
    as written. Recorded with the run, so that the case's run can be made again."""
    cases = cases_of(scenario)
    case = cases[name]
    settings = []
    if case.horizon_s is not None:
        settings.append(f"run.horizon={case.horizon_s!r}")
    if case.seed is not None:
        settings.append(f"run.seed={case.seed}")
    if case.replications is not None:
        settings.append(f"run.replications={case.replications}")
    added: dict[str, list[dict]] = {}
    for action in case.operator:
        panel, control = panel_control(scenario, action)
        added.setdefault(panel, []).append(_action(action, control))
    for panel, actions in added.items():
        own = [_action(a, a.control) for a in scenario.elements[panel].operator]
        settings.append(f"{panel}.operator={_flow(own + actions)}")
    if case.faults and name in scenario.cases:
        position = list(scenario.cases).index(name)
        raw = raw_scenario(scenario.text, source=scenario.source)
        written = raw["cases"][case_key(scenario, name, position)[1]]["faults"]
        settings += [f"{FAULT_SETTING}{_flow(fault)}" for fault in written]
    return settings


def _action(action, control: str) -> dict:
    done = {"at": action.at_s}
    if action.press is not None:
        done["press"] = control
        done["hold"] = action.hold_s
    elif action.release is not None:
        done["release"] = control
    else:
        done["switch"] = control
        done["to"] = action.to
    return done


def _flow(value) -> str:
    """``value`` as one line of YAML flow style."""
    return yaml.safe_dump(value, default_flow_style=True, width=1 << 30, sort_keys=False).strip()
