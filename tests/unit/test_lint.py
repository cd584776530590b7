"""The BPMN linter (`engine.definitions.lint`) and the safe XML parser (`engine.definitions.xmlsafe`).

Each failing diagram under `diagrams/` breaks exactly one convention of
`docs/process-conventions.md`; the tests check the finding's element id, the line of
that element in the file, its severity and what the message says.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from lxml import etree

import engine.definitions.lint
import engine.definitions.xmlsafe
from engine.definitions.lint import lint_bpmn, lint_files, lint_tree
from engine.definitions.lint_expr import timer_problems
from engine.definitions.xmlsafe import parse_xml
from engine.errors import DefinitionError, Finding

DIAGRAMS = Path(__file__).parent / "diagrams"
MIWG = Path("/work/shared/external/bpmn-miwg")

LANE_ROLES = {"reception": "reception", "接待员": "reception", "前台客服员": "reception",
              "guard": "guard", "护管员": "guard", "护卫员": "guard"}
FORM_IDS = {"lint/choose_help", "lint/confirm_hospital"}
SLA_KEYS = {"help.reply", "complaint.resolve"}
FINDING_LINE = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+): (?P<id>\S+): (?P<severity>error|warning): (?P<message>.+)$")


def lint(name: str, **overrides) -> list[Finding]:
    options = dict(lane_roles=LANE_ROLES, form_ids=FORM_IDS, sla_keys=SLA_KEYS) | overrides
    return lint_bpmn((DIAGRAMS / name).read_bytes(), name, **options)


def line_of(name: str, needle: str) -> int:
    """The 1-based line of the first line of diagram `name` that contains `needle`."""
    lines = (DIAGRAMS / name).read_text(encoding="utf-8").splitlines()
    return next(number for number, text in enumerate(lines, 1) if needle in text)


def show(findings) -> str:
    return "\n".join(map(str, findings)) or "(no findings)"


# -- the valid diagram -------------------------------------------------------------------


def test_valid_diagram_has_no_findings():
    assert lint("valid.bpmn") == []


def test_valid_diagram_carries_complete_di():
    root = etree.parse(str(DIAGRAMS / "valid.bpmn")).getroot()
    ns = {"bpmn": engine.definitions.lint.BPMN_NS, "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI"}
    shapes = set(root.xpath("//bpmndi:BPMNShape/@bpmnElement", namespaces=ns))
    edges = set(root.xpath("//bpmndi:BPMNEdge/@bpmnElement", namespaces=ns))
    nodes = {el.get("id") for el in root.iter() if engine.definitions.lint.local(el) in engine.definitions.lint.FLOW_NODES}
    lanes = set(root.xpath("//bpmn:lane/@id", namespaces=ns))
    flows = set(root.xpath("//bpmn:sequenceFlow/@id", namespaces=ns))
    assert nodes | lanes <= shapes
    assert flows == edges


# -- one failing diagram per rule ----------------------------------------------------------

# (diagram, element id, text on the element's line, message fragment)
CASES = [
    ("malformed.bpmn", None, "</bpmn:startEvnt>", "malformed XML: Opening and ending tag mismatch"),
    ("dtd_billion_laughs.bpmn", None, "<!DOCTYPE", "<!DOCTYPE> refused"),
    ("external_entity.bpmn", None, "<!DOCTYPE", "DTDs and entity declarations are not allowed"),
    ("xsd_violation.bpmn", "work", 'priority="high"', "invalid BPMN: Element '{http://www.omg.org/spec/BPMN/20100524/MODEL}task', attribute 'priority'"),
    ("gateway_no_condition.bpmn", "Flow_2", 'id="Flow_2"', "SpiffWorkflow: Non-default exclusive outgoing sequence flow without condition"),
    ("bad_condition.bpmn", "Flow_hospital", "<bpmn:conditionExpression", "condition does not compile under the sandbox: syntax error"),
    ("script_import.bpmn", "work", "<bpmn:script>", "script does not compile under the sandbox: refused by the sandbox: import statements are not allowed"),
    ("timer_bare_literal.bpmn", "work", "<bpmn:timeDuration", 'timeDuration PT5M is not a Python expression: quote it ("PT5M") or, for an SOP time limit, use sla("key")'),
    ("timer_unknown_sla.bpmn", "work", "<bpmn:timeDuration", "unknown sla key 'help.replly'"),
    ("unreachable.bpmn", "orphan", 'id="orphan"', "task '无人到达的任务' cannot be reached from a start event of process lint_unreachable"),
    ("subprocess.bpmn", "handle_orphan", 'id="handle_orphan"', "cannot be reached from a start event of subProcess handle"),
    ("user_task_no_lane.bpmn", "work", 'id="work"', "userTask '询问求助方式' is not in any lane"),
    ("lane_not_role.bpmn", "Lane_1", 'id="Lane_1"', "lane '保洁阿姨' is not a role in processes/rules/roles.yaml"),
    ("missing_form.bpmn", "work", 'id="work"', "manualTask '护送住户去医院' has no form property"),
    ("unknown_form.bpmn", "work", 'id="work"', "unknown form 'lint/no_such_form'"),
    ("missing_clause.bpmn", "work", 'id="work"', "task '办理' has no clause property"),
    ("unknown_task_sla.bpmn", "work", 'id="work"', "unknown sla key 'help.eventually'"),
    ("sla_from_without_sla.bpmn", "work", 'id="work"', "sla_from names when a clock starts, but it has no sla property"),
    ("unknown_measure.bpmn", "work", 'id="work"', "unknown measure 'arrivals' (known: arrival, charge, fee_collected, round)"),
    ("call_activity.bpmn", "work", 'id="work"', "calls process 'complaint', which is neither in this file nor a known process"),
]


@pytest.mark.parametrize(("name", "element_id", "needle", "fragment"), CASES, ids=[c[0] for c in CASES])
def test_each_rule_reports_one_finding_on_the_element(name, element_id, needle, fragment):
    findings = lint(name)
    assert len(findings) == 1, show(findings)
    finding = findings[0]
    assert finding.file == name
    assert finding.element_id == element_id
    assert finding.line == line_of(name, needle)
    assert finding.severity == "error"
    assert fragment in finding.message


def test_semantic_spiff_errors_get_the_line_of_their_element():
    # SpiffWorkflow's ValidationException for a node has no line number (it reads a
    # `line_number` attribute lxml elements do not have); the linter recovers it.
    (finding,) = lint("gateway_no_condition.bpmn")
    assert finding.line == line_of("gateway_no_condition.bpmn", '<bpmn:sequenceFlow id="Flow_2"')


def test_event_subprocess_start_counts_as_a_start():
    findings = lint("subprocess.bpmn")
    assert {f.element_id for f in findings} == {"handle_orphan"}, show(findings)


def test_call_activity_to_a_known_process_is_fine():
    assert lint("call_activity.bpmn", known_process_ids={"complaint"}) == []


def test_pre_and_post_scripts_are_compiled_under_the_sandbox():
    data = (DIAGRAMS / "valid.bpmn").read_bytes().replace(
        b"asked_at = now().isoformat()", b'secret = open("/etc/passwd").read()')
    (finding,) = lint_bpmn(data, "valid.bpmn", lane_roles=LANE_ROLES, form_ids=FORM_IDS, sla_keys=SLA_KEYS)
    assert finding.element_id == "choose_help"
    assert finding.line == line_of("valid.bpmn", "<spiffworkflow:postScript>")
    assert finding.severity == "error"
    assert "postScript does not compile under the sandbox" in finding.message
    assert "open()" in finding.message


def test_lane_with_an_alias_or_role_id_is_accepted():
    data = (DIAGRAMS / "valid.bpmn").read_bytes().replace(b'name="\xe6\x8e\xa5\xe5\xbe\x85\xe5\x91\x98"',
                                                          "name=\"前台客服员\"".encode())
    assert "前台客服员".encode() in data
    assert lint_bpmn(data, "valid.bpmn", lane_roles=LANE_ROLES, form_ids=FORM_IDS, sla_keys=SLA_KEYS) == []


def test_non_executable_process_is_linted_as_documentation():
    findings = lint("non_executable.bpmn")
    assert findings, "documentation diagrams are still checked"
    assert {f.severity for f in findings} == {"warning"}, show(findings)
    messages = {(f.element_id, f.message.split(" (")[0]) for f in findings}
    assert ("Lane_1", "lane '清洁工' is not a role in processes/rules/roles.yaml") in messages
    assert ("work", "userTask '询问求助方式' has no form property") in messages
    assert ("work", "userTask '询问求助方式' has no clause property") in messages
    assert ("orphan", "task '无人到达的任务' cannot be reached from a start event of process lint_documentation") in messages
    assert any(f.element_id == "Flow_3" and "condition does not compile" in f.message for f in findings)


def test_a_call_into_a_process_deployed_but_not_in_the_library_says_what_to_do():
    tree = parse_xml((DIAGRAMS / "call_activity.bpmn").read_bytes(), "call_activity.bpmn")
    (finding,) = lint_tree(tree, "call_activity.bpmn", lane_roles=LANE_ROLES, form_ids=FORM_IDS, sla_keys=SLA_KEYS,
                           deployed_process_ids={"complaint"})
    assert (finding.element_id, finding.severity) == ("work", "error")
    assert finding.message.startswith("calls process 'complaint', which is deployed but has no diagram in the library")


def test_a_document_that_never_runs_says_why_once():
    [why] = [f for f in lint("non_executable.bpmn") if f.message.startswith("kept as documentation")]
    assert (why.element_id, why.line, why.severity) == ("lint_documentation", 3, "warning")
    assert why.message == ('kept as documentation, never run: isExecutable="false"; 1 of 1 human tasks without '
                           "a form; 3 of 4 elements without a clause")
    assert not [f for f in lint("valid.bpmn") if f.message.startswith("kept as documentation")]


def test_a_document_without_a_process_says_so():
    data = (b'<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" '
            b'targetNamespace="http://example.org"><bpmn:collaboration id="talk"/></bpmn:definitions>')
    findings = lint_bpmn(data, "talk.bpmn", lane_roles=LANE_ROLES, form_ids=FORM_IDS, sla_keys=SLA_KEYS)
    assert [f.message for f in findings if f.message.startswith("kept as documentation")] == [
        "kept as documentation, never run: it has no process (a collaboration, choreography or conversation only)"]


def test_findings_print_as_file_line_element_severity_message():
    (finding,) = lint("missing_clause.bpmn")
    line = line_of("missing_clause.bpmn", 'id="work"')
    assert str(finding) == f"missing_clause.bpmn:{line}: work: error: {finding.message}"
    match = FINDING_LINE.match(str(finding))
    assert match and match["id"] == "work" and int(match["line"]) == line


def test_findings_are_sorted_by_line_and_unique():
    findings = lint("non_executable.bpmn")
    assert [f.line for f in findings] == sorted(f.line for f in findings)
    assert len(set(findings)) == len(findings)


# -- never raises ----------------------------------------------------------------------------


@pytest.mark.parametrize("data", [
    b"", b"   ", b"not xml at all", b"<a><b></a>", b"\xff\xfe\x00\x00garbage", b"<?xml version='1.0'?>",
    b"<root/>", b'<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"/>',
    "<?xml version='1.0' encoding='UTF-16'?><x/>".encode("utf-16"),
], ids=["empty", "blank", "text", "mismatch", "binary", "prolog-only", "foreign-root", "no-namespace-attrs", "utf16"])
def test_lint_never_raises_and_always_points_at_a_line(data):
    findings = lint_bpmn(data, "odd.bpmn", lane_roles=LANE_ROLES, form_ids=FORM_IDS, sla_keys=SLA_KEYS)
    assert isinstance(findings, list) and findings
    assert all(isinstance(f, Finding) and f.line and f.line >= 1 for f in findings), show(findings)


# -- lint_files ----------------------------------------------------------------------------------


def test_lint_files_resolves_call_activities_across_files_and_parses_each_file_once(tmp_path, monkeypatch):
    callee = tmp_path / "complaint.bpmn"
    callee.write_bytes((DIAGRAMS / "valid.bpmn").read_bytes().replace(b"lint_valid", b"complaint"))
    parsed = []
    real_parse = engine.definitions.lint.parse_xml
    monkeypatch.setattr(engine.definitions.lint, "parse_xml", lambda data, name: parsed.append(name) or real_parse(data, name))
    paths = [DIAGRAMS / "call_activity.bpmn", callee, tmp_path / "missing.bpmn"]
    findings = lint_files(paths, lane_roles=LANE_ROLES, form_ids=FORM_IDS, sla_keys=SLA_KEYS)
    assert parsed == [str(DIAGRAMS / "call_activity.bpmn"), str(callee)]
    (finding,) = findings
    assert finding.file == str(tmp_path / "missing.bpmn") and "cannot read file" in finding.message


# -- timer expressions -----------------------------------------------------------------------------

GOOD_TIMERS = [
    ("timeDuration", 'sla("help.reply")'),
    ("timeDuration", '"PT5M"'),
    ("timeDuration", "'P3D'"),
    ("timeDuration", '\n      sla("complaint.resolve")\n    '),
    ("timeDate", "now().isoformat()"),
    ("timeDate", '(now() + timedelta(days=3)).isoformat()'),
    ("timeDate", '"2026-03-01T09:00:00+08:00"'),
    ("timeDate", 'now().strftime("%Y-%m-%dT17:00:00+08:00")'),
    ("timeCycle", '"R3/PT10M"'),
    ("timeCycle", '"R/" + sla("help.reply")'),
    ("timeCycle", 'f"R3/{sla(\'help.reply\')}"'),
    ("timeDate", 'before(deadline, sla("help.reply"))'),
    ("timeDate", 'after(appointment_at, "PT30M")'),
    ("timeDate", 'before(now(), "P3D")'),
]


@pytest.mark.parametrize(("kind", "text"), GOOD_TIMERS)
def test_good_timer_expressions(kind, text):
    assert timer_problems(kind, text, SLA_KEYS) == []


BAD_TIMERS = [
    ("timeDuration", "PT5M", 'quote it ("PT5M") or, for an SOP time limit, use sla("key")'),
    ("timeDuration", "P3D", 'quote it ("P3D")'),
    ("timeCycle", "R3/PT10M", 'quote it ("R3/PT10M")'),
    ("timeDate", "2026-03-01T09:00:00", "is not a Python expression"),
    ("timeDuration", "", "timeDuration is empty"),
    ("timeDuration", 'sla("help.nope")', "unknown sla key 'help.nope'"),
    ("timeDuration", "deadline", "'deadline' is not known before the case runs"),
    ("timeDuration", '"5M"', "is not an ISO-8601 duration"),
    ("timeDuration", '"P"', "is not an ISO-8601 duration"),
    ("timeDuration", '"soon"', "is not an ISO-8601 duration"),
    ("timeDuration", "now()", "must evaluate to ISO-8601 text, not datetime"),
    ("timeDate", 'sla("help.reply")', "is not an ISO-8601 date-time"),
    ("timeDate", '"2026-13-01T00:00:00"', "is not an ISO-8601 date-time"),
    ("timeCycle", '"PT10M"', "is not an ISO-8601 recurring interval"),
    ("timeDuration", '__import__("os").getcwd()', "does not compile under the sandbox"),
    ("timeDuration", "sla(\"help.reply\") * 2", "may only join text with +"),
    ("timeDuration", "len('PT5M')", "len() is not supported"),
    ("timeDate", "before(deadline)", "before() takes a date-time and a duration"),
    ("timeDate", 'before(deadline, "soon")', "is not an ISO-8601 duration"),
    ("timeDate", 'before(deadline + "x", "P3D")', "'deadline' is not known before the case runs"),
    ("timeDuration", 'before(deadline, "P3D")', "is not an ISO-8601 duration"),
]


@pytest.mark.parametrize(("kind", "text", "fragment"), BAD_TIMERS)
def test_bad_timer_expressions(kind, text, fragment):
    problems = timer_problems(kind, text, SLA_KEYS)
    assert len(problems) == 1 and fragment in problems[0], problems


# -- xmlsafe ---------------------------------------------------------------------------------------


def refused(data: bytes) -> Finding:
    with pytest.raises(DefinitionError) as caught:
        parse_xml(data, "evil.bpmn")
    (finding,) = caught.value.findings
    assert finding.file == "evil.bpmn" and finding.severity == "error" and finding.line
    return finding


def test_xmlsafe_parses_a_plain_document():
    tree = parse_xml((DIAGRAMS / "valid.bpmn").read_bytes(), "valid.bpmn")
    assert isinstance(tree, etree._ElementTree)
    assert tree.getroot().get("id") == "Definitions_lint_valid"


@pytest.mark.parametrize("data", [
    b'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY e SYSTEM "http://127.0.0.1:9/evil">]>\n<x>&e;</x>',
    b'<!DOCTYPE x [<!ENTITY % p SYSTEM "http://127.0.0.1:9/evil.dtd"> %p;]><x/>',
    b'<!DOCTYPE x SYSTEM "file:///etc/passwd"><x/>',
    b"<!doctype x><x/>",
    b'<?xml version="1.0"?>\n<x/>\n<!ENTITY e "e">',
    '<?xml version="1.0" encoding="UTF-16"?>\n<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>'.encode("utf-16"),
    '<!DOCTYPE x [<!ENTITY e "e">]><x>&e;</x>'.encode("utf-16-be"),
], ids=["http-entity", "parameter-entity", "external-dtd", "lowercase", "stray-entity", "utf16-bom", "utf16-no-bom"])
def test_xmlsafe_refuses_dtds_in_any_spelling_or_encoding(data):
    finding = refused(data)
    assert "refused" in finding.message


def test_xmlsafe_reports_the_line_of_a_syntax_error():
    finding = refused(b'<?xml version="1.0"?>\n<a>\n  <b>\n</a>\n')
    assert finding.line == 4
    assert finding.message.startswith("malformed XML:")


def test_xmlsafe_refuses_undeclared_entities():
    finding = refused(b"<x>&passwd;</x>")
    assert "malformed XML" in finding.message


def test_xmlsafe_never_reads_the_referenced_file(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    data = f'<!DOCTYPE x [<!ENTITY s SYSTEM "{secret.as_uri()}">]><x>&s;</x>'.encode()
    finding = refused(data)
    assert "TOP-SECRET" not in finding.message


# -- third-party diagrams ----------------------------------------------------------------------------

MIWG_FILES = sorted(MIWG.rglob("*.bpmn")) if MIWG.is_dir() else []
MIWG_PARAMS = [pytest.param(path, id=str(path.relative_to(MIWG))) for path in MIWG_FILES] or [
    pytest.param(None, id="bpmn-miwg", marks=pytest.mark.skip(reason=f"{MIWG} is absent: no third-party diagrams"))]


@pytest.mark.parametrize("path", MIWG_PARAMS)
def test_third_party_diagrams_lint_without_raising(path):
    findings = lint_bpmn(path.read_bytes(), str(path), lane_roles=LANE_ROLES, form_ids=FORM_IDS, sla_keys=SLA_KEYS)
    assert isinstance(findings, list)
    assert all(isinstance(f, Finding) for f in findings)
    assert all(f.severity in {"error", "warning"} and f.line and f.line >= 1 for f in findings), show(findings)
    assert not [f for f in findings if "internal linter error" in f.message], show(findings)
    assert all(FINDING_LINE.match(str(f)) for f in findings), show(findings)


@pytest.mark.parametrize(("name", "fragment"), [
    # libxml2 expands entities in attribute values whatever resolve_entities says, but its
    # own amplification limit stops the billion laughs.
    ("dtd_billion_laughs.bpmn", "Maximum entity amplification factor exceeded"),
    ("external_entity.bpmn", "XML with a document type declaration is refused"),
])
def test_xmlsafe_refuses_even_when_the_prescan_is_bypassed(name, fragment, monkeypatch):
    # Defence in depth: if the byte scan missed a DTD, the parser still loads nothing and
    # the parsed tree is refused for having one.
    monkeypatch.setattr(engine.definitions.xmlsafe, "_DTD_MARKUP", re.compile(r"(?!x)x"))
    finding = refused((DIAGRAMS / name).read_bytes())
    assert fragment in finding.message


def test_xmlsafe_parser_resolves_no_external_entity():
    tree = etree.parse(str(DIAGRAMS / "external_entity.bpmn"), engine.definitions.xmlsafe._make_parser())
    assert b"root:" not in etree.tostring(tree)
