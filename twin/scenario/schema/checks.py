"""Commissioning in the scenario: the checks a run must pass, and the named cases to run."""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BeforeValidator, Discriminator, Field, Tag, model_validator

from twin.scenario.schema.elements import PanelAction
from twin.scenario.schema.faults import FaultSpec
from twin.scenario.schema.fields import Duration, FieldError, _Strict, and_list

# Each form of check: the field that names it, and the fields it needs and may have.
FORMS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "never": (("never",), ()),
    "always": (("always",), ()),
    "response": (("after", "within", "expect"), ("for",)),
    "eventually": (("eventually", "by"), ()),
    "kpi": (("kpi",), ("at_least", "at_most")),
}
# The field that starts each form (a response starts with its trigger, `after`).
_LEADS = {
    "never": "never",
    "always": "always",
    "after": "response",
    "eventually": "eventually",
    "kpi": "kpi",
}
_EXAMPLES = {
    "never": "{name: no double push, never: push_tall.extend AND push_flat.extend}",
    "always": "{name: one pusher at a time, always: NOT (a.extend AND b.extend)}",
    "response": "{name: belt stops, after: panel.estop, within: 100ms, expect: NOT belt.run}",
    "eventually": "{name: first boxes, eventually: chute_tall.count >= 3, by: 1min}",
    "kpi": "{name: output, kpi: throughput_per_hour, at_least: 300}",
}
_A = {form: ("an " if form[0] in "aeiou" else "a ") + form for form in FORMS}
NAME = re.compile(r"^\S(.*\S)?$")


def _expression(field: str):
    """A validator for a Structured Text expression written as YAML text."""

    def check(value: Any) -> str:
        if isinstance(value, bool):  # YAML reads a bare true/false as a boolean
            return "TRUE" if value else "FALSE"
        if not isinstance(value, str) or not value.strip():
            raise ValueError(
                f"{field} {value!r} is not an expression; write Structured Text over tags, "
                "states, counts and events, e.g. NOT (belt.run AND panel.estop)"
            )
        return value.strip()

    return check


def _expr(field: str):
    return Annotated[str | None, BeforeValidator(_expression(field))]


class CheckSpec(_Strict):
    """One check: a name, a severity (an ``error`` fails the suite, a ``warning`` is only
    reported) and one form — ``never``/``always`` an expression, a response (``after`` a
    trigger, ``within`` a time, ``expect`` an expression, for ``for`` a time), ``eventually``
    an expression ``by`` a time, or a ``kpi`` with ``at_least``/``at_most``."""

    name: str
    severity: Literal["error", "warning"] = "error"
    never: _expr("never") = None
    always: _expr("always") = None
    after: _expr("after") = None
    within_s: Duration | None = Field(default=None, alias="within")
    expect: _expr("expect") = None
    for_s: Duration | None = Field(default=None, alias="for")
    eventually: _expr("eventually") = None
    by_s: Duration | None = Field(default=None, alias="by")
    kpi: str | None = None
    at_least: float | None = None
    at_most: float | None = None

    _if_missing: ClassVar[dict[str, str]] = {
        "name": "give the check a name, e.g. {name: belt stops, after: panel.estop, "
        "within: 100ms, expect: NOT belt.run}"
    }
    _what: ClassVar[str] = "a check"
    _example: ClassVar[str] = _EXAMPLES["response"]

    @model_validator(mode="before")
    @classmethod
    def _one_form(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data  # _Strict says what a check is
        if any(key not in cls._field_names() for key in data):
            return data  # an unknown field: _Strict names it, with the closest known one
        leads = [key for key in _LEADS if key in data]
        if not leads:
            raise FieldError(
                "a check needs one form: never, always, after (a response), eventually or "
                f"kpi, e.g. {_EXAMPLES['response']}",
                about=(),
            )
        if len(leads) > 1:
            raise FieldError(
                f"a check has one form, not {and_list(leads)}; split it into several checks",
                at=(leads[1],),
            )
        form = _LEADS[leads[0]]
        needed, optional = FORMS[form]
        for key in needed:
            if key not in data:
                raise FieldError(
                    f"{key} is missing; {_A[form]} check is written {_EXAMPLES[form]}",
                    at=(key,),
                    about=(),
                )
        allowed = {"name", "severity", *needed, *optional}
        for key in data:
            if key not in allowed and key in cls._field_names():
                raise FieldError(
                    f"{key} does not belong to {_A[form]} check; it is written {_EXAMPLES[form]}",
                    at=(key,),
                )
        if form == "kpi" and ("at_least" in data) == ("at_most" in data):
            raise FieldError(
                f"a kpi check needs one bound, at_least or at_most, e.g. {_EXAMPLES['kpi']}",
                about=(),
            )
        return data

    @classmethod
    def _field_names(cls) -> set[str]:
        return {f.alias or name for name, f in cls.model_fields.items()}

    @model_validator(mode="after")
    def _sensible(self) -> CheckSpec:
        if not NAME.match(self.name):
            raise FieldError(
                f"name {self.name!r} is not allowed; give the check a name, e.g. belt stops",
                at=("name",),
            )
        return self

    @property
    def form(self) -> str:
        return next(_LEADS[k] for k in _LEADS if getattr(self, k) is not None)

    def expressions(self) -> dict[str, str]:
        """The check's expressions by field: what the loader parses and names are found in."""
        fields = ("never", "always", "after", "expect", "eventually")
        return {f: getattr(self, f) for f in fields if getattr(self, f) is not None}


def _unique_checks(checks: list[CheckSpec]) -> list[CheckSpec]:
    seen: set[str] = set()
    for index, check in enumerate(checks):
        if check.name in seen:
            raise FieldError(
                f"check name {check.name!r} is used twice; give each check its own name",
                at=(index, "name"),
            )
        seen.add(check.name)
    return checks


Checks = Annotated[list[CheckSpec], AfterValidator(_unique_checks)]


class CaseSpec(_Strict):
    """A named run of the scenario: its own ``horizon``, ``seed`` and ``replications``, the
    ``operator``'s actions on the panel (``{at: 12s, press: estop}``; ``panel.estop`` where
    there are several panels), ``faults`` to inject, and the ``checks`` it must pass (all by
    default)."""

    name: str | None = None  # given by the key in the mapping form
    description: str | None = None
    horizon_s: Duration | None = Field(default=None, alias="horizon")
    seed: int | None = Field(default=None, ge=0)
    replications: int | None = Field(default=None, ge=1)  # e.g. for a KPI check's interval
    operator: list[PanelAction] = Field(default_factory=list)
    faults: list[FaultSpec] = Field(default_factory=list)  # injected in this case's run
    checks: list[str] | None = None

    _what: ClassVar[str] = "a case"
    _example: ClassVar[str] = "{horizon: 30s, operator: [{at: 12s, press: estop}]}"


def _case_form(value: Any) -> str:
    return "list" if isinstance(value, list) else "mapping"


def _named_cases(cases: dict[str, CaseSpec] | list[CaseSpec]) -> dict[str, CaseSpec]:
    """Both written forms as one mapping from name to case (names unique, each case named)."""
    if isinstance(cases, dict):
        found: dict[str, CaseSpec] = {}
        for name, case in cases.items():
            if case.name is not None and case.name != name:
                raise FieldError(
                    f"case {name!r} is named {case.name!r} too; leave out name in the mapping "
                    "form, where the key names the case",
                    at=(name, "name"),
                )
            found[name] = case.model_copy(update={"name": name})
        return found
    found = {}
    for index, case in enumerate(cases):
        if case.name is None:
            raise FieldError(
                "name is missing; each case in a list has a name, e.g. {name: good, horizon: 1min}",
                at=(index,),
            )
        if case.name in found:
            raise FieldError(
                f"case name {case.name!r} is used twice; give each case its own name",
                at=(index, "name"),
            )
        found[case.name] = case
    return found


Cases = Annotated[
    Annotated[dict[str, CaseSpec], Tag("mapping")] | Annotated[list[CaseSpec], Tag("list")],
    Discriminator(_case_form),
    AfterValidator(_named_cases),
]
