"""Lint of the catalogue: every role, department, start form and procedure it names exists.

A process element's `start_roles`, `department` and `start_form` properties are checked
against the bundle (errors), and the `process` of each triage category (categories.yaml)
against its processes: a warning, since a bundle may add to a library already deployed.
Each finding points at its file and line.
"""

from __future__ import annotations

from lxml import etree

from engine.definitions.diagram import NS, ProcessOutline
from engine.definitions.rules import Rules
from engine.errors import Finding
from engine.yamlfile import line_at

CATEGORIES_FILE = "processes/rules/categories.yaml"


def catalogue_findings(trees: dict[str, etree._ElementTree], outlines: dict[str, ProcessOutline],
                       rules: Rules, form_ids: set[str], categories_text: str | None,
                       known_process_ids: set[str]) -> list[Finding]:
    """Findings for every name the catalogue uses that the bundle does not define."""
    findings = []
    for name, tree in trees.items():
        for process in tree.getroot().xpath("//bpmn:process", namespaces=NS):
            outline = outlines.get(process.get("id"))
            if outline is None:
                continue
            problems = [("start_roles", f"start_roles names unknown role {role!r}", f"可发起角色 {role} 不存在")
                        for role in outline.start_roles if role not in rules.roles]
            if outline.department and rules.departments and outline.department not in rules.departments:
                problems.append(("department", f"unknown department {outline.department!r} "
                                               "(processes/rules/departments.yaml)",
                                 f"部门 {outline.department} 不在 processes/rules/departments.yaml 中"))
            if outline.start_form and outline.start_form not in form_ids:
                problems.append(("start_form", f"start_form {outline.start_form!r} is no form in forms/",
                                 f"发起表单 {outline.start_form} 不在 forms/ 中"))
            findings += [Finding(f"processes/{name}", _property_line(process, prop), outline.process_id, "error",
                                 message, zh) for prop, message, zh in problems]
    for index, category in enumerate(rules.categories.values()):
        if category.process and category.process not in known_process_ids:
            findings.append(Finding(CATEGORIES_FILE, line_at(categories_text, ("categories", index, "process")),
                                    category.id, "warning", f"routes to {category.process!r}, no process of this bundle",
                                    f"类别 {category.id} 转入的流程 {category.process} 不在流程库中"))
    if rules.triage and rules.triage not in known_process_ids:
        findings.append(Finding(CATEGORIES_FILE, line_at(categories_text, ("triage",)), "triage", "warning",
                                f"the triage {rules.triage!r} is no process of this bundle",
                                f"求助受理流程 {rules.triage} 不在流程库中"))
    return findings


def _property_line(process: etree._Element, name: str) -> int | None:
    """The line of the process's own property `name`, else of the process element."""
    own = process.xpath(f"./bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property[@name='{name}']",
                        namespaces=NS)
    return own[0].sourceline if own else process.sourceline
