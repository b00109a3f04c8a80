"""A suite's verdicts as JUnit XML, the test report GitLab, Jenkins and GitHub display: one
test case per case and check, a failure saying when and with which values."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

from twin.commission.run import SuiteResult


def junit_xml(result: SuiteResult, suite: str) -> str:
    """The JUnit document of ``result``; ``suite`` names the scenario in class names
    (``<suite>.<case>``, with the check as the test's name)."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    root = ET.Element("testsuites", name=f"twin commission {suite}")
    totals = {"tests": 0, "failures": 0, "errors": 0}
    total_s = 0.0
    for case in result.cases:
        classname = f"{suite}.{case.case}"
        failures = sum(v.fails_suite for v in case.verdicts)
        tests = len(case.verdicts) or 1
        errors = 1 if case.error else 0
        node = ET.SubElement(
            root,
            "testsuite",
            name=classname,
            tests=str(tests),
            failures=str(failures),
            errors=str(errors),
            skipped="0",
            time=f"{case.wall_s:.3f}",
            timestamp=stamp,
        )
        properties = ET.SubElement(node, "properties")
        for name, value in (
            ("scenario", result.scenario),
            ("run_id", case.run_id or ""),
            ("simulated_s", f"{case.end_s:.3f}"),
            ("program", result.program or ""),
        ):
            ET.SubElement(properties, "property", name=name, value=value)
        if case.error:
            test = ET.SubElement(node, "testcase", classname=classname, name="(run)", time="0")
            error = ET.SubElement(test, "error", message=case.error, type="ScenarioError")
            error.text = case.error
        for verdict in case.verdicts:
            test = ET.SubElement(node, "testcase", classname=classname, name=verdict.name, time="0")
            if verdict.fails_suite:
                failure = ET.SubElement(
                    test, "failure", message=verdict.message, type=f"{verdict.form} check"
                )
                failure.text = _details(verdict)
            elif not verdict.passed:  # a warning: reported, not failed
                ET.SubElement(test, "system-out").text = f"warning: {verdict.message}"
            else:
                ET.SubElement(test, "system-out").text = verdict.message
        for warning in case.warnings:
            ET.SubElement(node, "system-err").text = warning
        totals["tests"] += tests
        totals["failures"] += failures
        totals["errors"] += errors
        total_s += case.wall_s
    for name, value in totals.items():
        root.set(name, str(value))
    root.set("time", f"{total_s:.3f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _details(verdict) -> str:
    lines = [verdict.message]
    if verdict.time_s is not None:
        lines.append(f"time: {verdict.time_s:.3f} s")
    lines += [f"{key} = {value}" for key, value in verdict.values.items()]
    return "\n".join(lines)


def write_junit(result: SuiteResult, suite: str, path: Path) -> None:
    path.write_text(junit_xml(result, suite), encoding="utf-8")
