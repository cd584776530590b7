"""Check BPMN diagrams against `docs/process-conventions.md`; every problem is a `Finding`.

The linter never raises for a bad diagram. Executable processes (`isExecutable`
missing or "true", as SpiffWorkflow reads it) get errors; non-executable processes are
documentation and get warnings, so a third-party diagram never stops a lint run.
Checks, in order: XML safety (`engine.xmlsafe`), SpiffWorkflow's own parser with its XSD
validator, call-activity targets, sandbox compilation of conditions and scripts, timer
expressions, reachability, lanes and forms of human tasks, the clause/sla properties, and
for a document that will never run, one warning that says why.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser

from engine.definitions.diagram import MEASURES
from engine.definitions.lint_budget import template_problems, unbounded_problems
from engine.definitions.lint_expr import source_problem, timer_problems
from engine.definitions.lint_words import zh_label, zh_what
from engine.definitions.xmlsafe import parse_xml
from engine.errors import DefinitionError, Finding

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NS = {"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS}

CONTAINERS = {"subProcess", "transaction", "adHocSubProcess"}
HUMAN_TASKS = {"userTask", "manualTask"}
FLOW_NODES = CONTAINERS | HUMAN_TASKS | {
    "task", "scriptTask", "serviceTask", "sendTask", "receiveTask", "businessRuleTask", "callActivity",
    "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
    "exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway", "complexGateway",
}
# (xpath, compile mode, what it is) of every expression or script the engine runs
EXPRESSIONS = (
    (".//bpmn:sequenceFlow/bpmn:conditionExpression", "eval", "condition"),
    (".//bpmn:conditionalEventDefinition/bpmn:condition", "eval", "condition"),
    (".//bpmn:standardLoopCharacteristics/bpmn:loopCondition", "eval", "loop condition"),
    (".//bpmn:multiInstanceLoopCharacteristics/bpmn:loopCardinality", "eval", "loop cardinality"),
    (".//bpmn:multiInstanceLoopCharacteristics/bpmn:completionCondition", "eval", "completion condition"),
    (".//bpmn:scriptTask/bpmn:script", "exec", "script"),
    (".//bpmn:extensionElements/spiffworkflow:preScript", "exec", "preScript"),
    (".//bpmn:extensionElements/spiffworkflow:postScript", "exec", "postScript"),
)
TIMER_KINDS = ("timeDuration", "timeDate", "timeCycle")

# BpmnValidator keeps its error log on a shared XMLSchema object: one validation at a time.
_SPIFF_LOCK = threading.Lock()
_LXML_REPR = re.compile(r"<Element \{[^}]*\}(\w+) at 0x[0-9a-fA-F]+>")


def local(element) -> str:
    """The local name of a BPMN element ('' for other namespaces, comments and PIs)."""
    if not isinstance(element.tag, str):
        return ""
    qname = etree.QName(element)
    return qname.localname if qname.namespace == BPMN_NS else ""


def process_ids(tree: etree._ElementTree) -> set[str]:
    """The ids of the `bpmn:process` elements of a parsed diagram."""
    return {p.get("id") for p in tree.getroot().iterfind(".//bpmn:process", NS) if p.get("id")}


def lint_bpmn(data: bytes, filename: str, *, lane_roles: Mapping[str, str], form_ids: Collection[str],
              sla_keys: Collection[str], known_process_ids: Collection[str] = frozenset()) -> list[Finding]:
    """Lint one BPMN document given as bytes; return its findings (never raises for bad input)."""
    try:
        tree = parse_xml(data, filename)
    except DefinitionError as exc:
        return list(exc.findings)
    return lint_tree(tree, filename, lane_roles=lane_roles, form_ids=form_ids, sla_keys=sla_keys,
                     known_process_ids=known_process_ids)


def lint_files(paths: Iterable[str | Path], *, lane_roles: Mapping[str, str], form_ids: Collection[str],
               sla_keys: Collection[str], known_process_ids: Collection[str] = frozenset()) -> list[Finding]:
    """Lint several files, parsing each once; call activities may call any of them."""
    trees, findings = {}, []
    for path in paths:
        name = str(path)
        try:
            trees[name] = parse_xml(Path(path).read_bytes(), name)
        except DefinitionError as exc:
            findings.extend(exc.findings)
        except OSError as exc:
            findings.append(Finding(name, None, None, "error", f"cannot read file: {exc.strerror or exc}"))
    known = set(known_process_ids).union(*(process_ids(tree) for tree in trees.values()))
    for name, tree in trees.items():
        findings.extend(lint_tree(tree, name, lane_roles=lane_roles, form_ids=form_ids, sla_keys=sla_keys,
                                  known_process_ids=known))
    return findings


def lint_tree(tree: etree._ElementTree, filename: str, *, lane_roles: Mapping[str, str],
              form_ids: Collection[str], sla_keys: Collection[str],
              known_process_ids: Collection[str] = frozenset(),
              dmn_trees: Mapping[str, etree._ElementTree] | None = None,
              deployed_process_ids: Collection[str] = frozenset()) -> list[Finding]:
    """Lint a diagram already parsed by `engine.definitions.xmlsafe.parse_xml`.

    `dmn_trees` are the library's decision tables, which business rule tasks may call.
    `deployed_process_ids` are processes deployed in the database, so a call into one whose
    file is missing from the library says so (a deploy needs the diagrams a process calls).
    """
    linter = _Linter(tree, filename, lane_roles, form_ids, sla_keys, known_process_ids)
    linter.dmn_trees = dmn_trees or {}
    linter.deployed_process_ids = deployed_process_ids
    for check in (linter.check_spiff, linter.check_call_activities, linter.check_expressions,
                  linter.check_timers, linter.check_reachability, linter.check_lanes,
                  linter.check_human_tasks, linter.check_properties, linter.check_documentation):
        try:
            check()
        except Exception as exc:  # a linter bug must not hide the other findings
            linter.add(linter.root, f"internal linter error in {check.__name__}: {type(exc).__name__}: {exc}",
                       zh="检查程序自身出错，请联系系统管理员")
    unique = list(dict.fromkeys(linter.findings))
    return sorted(unique, key=lambda f: f.line or 0)


class _Linter:
    def __init__(self, tree, filename, lane_roles, form_ids, sla_keys, known_process_ids):
        self.tree, self.root, self.filename = tree, tree.getroot(), filename
        self.lane_roles, self.form_ids, self.sla_keys = lane_roles, form_ids, sla_keys
        self.known_process_ids = known_process_ids
        self.findings: list[Finding] = []
        self.by_id: dict[str, etree._Element] = {}
        for element in self.root.iter(etree.Element):
            if element.get("id"):
                self.by_id.setdefault(element.get("id"), element)
        self.flow_nodes = [el for el in self.root.iter(etree.Element)
                           if local(el) in FLOW_NODES and _process_of(el) is not None]
        self.any_executable = any(_executable(p) for p in self.root.iterfind(".//bpmn:process", NS))
        self.dmn_trees: Mapping[str, etree._ElementTree] = {}
        self.deployed_process_ids: Collection[str] = frozenset()

    # -- reporting ---------------------------------------------------------------------

    def add(self, element, message: str, *, zh: str, line: int | None = None, element_id: str | None = None):
        """Report on `element`: an error in an executable process (or a document that has one);
        `zh` says it in Chinese for the modeler, `message` in technical English."""
        process = _process_of(element)
        executable = _executable(process) if process is not None else self.any_executable
        self.findings.append(Finding(self.filename, line or element.sourceline, element_id or element.get("id"),
                                     "error" if executable else "warning", " ".join(message.split()), zh))

    def _element_at(self, line: int):
        """The innermost element with an id that starts at or before `line`."""
        found = None
        for element in self.root.iter(etree.Element):
            if element.sourceline and element.sourceline > line:
                break
            found = element
        while found is not None and not found.get("id"):
            found = found.getparent()
        return found

    def _spiff_finding(self, exc: ValidationException, fallback, prefix: str):
        line = exc.line_number if isinstance(exc.line_number, int) and exc.line_number > 0 else None
        element = self.by_id.get(exc.id) if getattr(exc, "id", None) else None
        if element is None and line:
            element = self._element_at(line)
        element = fallback if element is None else element
        message = " ".join([str(exc.args[0]) if exc.args else type(exc).__name__, *exc.notes])
        message = _LXML_REPR.sub(r"\1", message)  # SpiffWorkflow formats some elements with repr()
        self.add(element, f"{prefix}{message}", line=line, zh=f"{zh_label(element)}：流程引擎无法读取此处，请检查其设置")

    # -- checks ------------------------------------------------------------------------

    def check_spiff(self):
        """SpiffWorkflow's parser with XSD validation, then every executable process spec."""
        parser = SpiffBpmnParser(validator=VALIDATOR)
        for name, dmn in self.dmn_trees.items():
            try:
                parser.add_dmn_xml(dmn.getroot(), filename=name)
            except Exception as exc:
                self.add(self.root, f"decision table {name} cannot be read: {type(exc).__name__}: {exc}",
                         zh=f"决策表 {name} 无法读取")
        try:
            with _SPIFF_LOCK:
                parser.add_bpmn_xml(self.tree, filename=self.filename)
        except ValidationException as exc:  # XSD errors carry a line but no element id
            prefix = "invalid BPMN: " if exc.line_number and not exc.id else "SpiffWorkflow: "
            self._spiff_finding(exc, self.root, prefix)
            return
        except Exception as exc:
            self.add(self.root, f"SpiffWorkflow cannot read the diagram: {type(exc).__name__}: {exc}",
                     zh="流程引擎无法读取这张流程图")
            return
        # Parse every process, and the sub-process specs that parsing creates, one by one,
        # so that one bad process does not hide the others. (get_subprocess_specs stops at
        # the first problem and always requires call-activity targets when it recurses.)
        done: set[str] = set()
        while pending := [pid for pid in parser.get_process_ids() if pid not in done]:
            for pid in pending:
                done.add(pid)
                fallback = self.by_id.get(pid, self.root)
                try:
                    parser.get_spec(pid)
                except ValidationException as exc:
                    self._spiff_finding(exc, fallback, "SpiffWorkflow: ")
                except Exception as exc:
                    self.add(fallback, f"SpiffWorkflow cannot parse {pid}: {type(exc).__name__}: {exc}",
                             zh=f"流程引擎无法解析流程 {pid}")

    def check_call_activities(self):
        local_ids = process_ids(self.tree)
        for call in self.root.iterfind(".//bpmn:callActivity", NS):
            called = call.get("calledElement") or ""  # SpiffWorkflow reports a missing one
            if not called.strip() or called in local_ids or called in self.known_process_ids:
                continue
            if called in self.deployed_process_ids:
                self.add(call, f"calls process {called!r}, which is deployed but has no diagram in the library: "
                               "put its .bpmn in processes/ (a deploy includes the diagrams a process calls)",
                         zh=f"{zh_label(call)}：调用的流程 {called} 已部署，但流程库中没有它的流程图；请把它的 .bpmn 放进 processes/")
            else:
                self.add(call, f"calls process {called!r}, which is neither in this file nor a known process",
                         zh=f"{zh_label(call)}：调用的流程 {called} 不存在")

    def check_expressions(self):
        for xpath, mode, what in EXPRESSIONS:
            for element in self.root.iterfind(xpath, NS):
                if element.text and element.text.strip():
                    problem = source_problem(element.text, mode)
                    if problem:
                        self.add(element, f"{what} does not compile under the sandbox: {problem}",
                                 element_id=_owner_id(element), zh=f"{zh_what(what)}写法有误，无法执行")
                        continue
                    self._budget_findings(element, what, unbounded_problems(element.text, mode))
        for element in self.root.iterfind(".//bpmn:extensionElements/spiffworkflow:instructionsForEndUser", NS):
            self._budget_findings(element, "instructions", template_problems(element.text or ""))

    def _budget_findings(self, element, what: str, problems: list[tuple[int, str]]):
        for line, problem in problems:
            self.add(element, f"{what} line {line}: {problem} (budgets in processes/rules/sites.yaml)",
                     line=(element.sourceline or 1) + line - 1, element_id=_owner_id(element),
                     zh=f"{zh_what(what)}第 {line} 行可能超出运行时间或内存限额（见 processes/rules/sites.yaml）")

    def check_timers(self):
        for definition in self.root.iterfind(".//bpmn:timerEventDefinition", NS):
            for element in definition:
                if local(element) in TIMER_KINDS:
                    for problem in timer_problems(local(element), element.text, self.sla_keys):
                        self.add(element, problem, element_id=_owner_id(element),
                                 zh="计时器的时间设置有误：应为 ISO-8601 时长或时间，或 sla(\"时限名\")")

    def check_reachability(self):
        containers = [el for el in self.root.iter(etree.Element)
                      if local(el) == "process" or (local(el) in CONTAINERS and _process_of(el) is not None)]
        for container in containers:
            nodes = {el.get("id"): el for el in container if local(el) in FLOW_NODES and el.get("id")}
            edges: dict[str, list[str]] = {}
            for flow in container.iterfind("bpmn:sequenceFlow", NS):
                edges.setdefault(flow.get("sourceRef"), []).append(flow.get("targetRef"))
            for node_id, node in nodes.items():
                if local(node) == "boundaryEvent":
                    edges.setdefault(node.get("attachedToRef"), []).append(node_id)
            if local(container) == "adHocSubProcess":
                targets = {t for ts in edges.values() for t in ts}
                starts = [n for n in nodes if n not in targets]
            elif not any(local(n) == "startEvent" for n in nodes.values()):
                continue  # SpiffWorkflow reports the missing start event
            else:
                starts = [n for n, el in nodes.items() if local(el) == "startEvent"
                          or (local(el) == "subProcess" and el.get("triggeredByEvent") == "true")
                          or el.get("isForCompensation") == "true"]
            seen, stack = set(starts), list(starts)
            while stack:
                for target in edges.get(stack.pop(), ()):
                    if target not in seen:
                        seen.add(target)
                        stack.append(target)
            where = f"{local(container)} {container.get('id')}"
            for node_id, node in nodes.items():
                if node_id not in seen:
                    self.add(node, f"{_label(node)} cannot be reached from a start event of {where}",
                             zh=f"{zh_label(node)}：从开始事件无法到达")

    def check_lanes(self):
        for lane in self.root.iterfind(".//bpmn:lane", NS):
            name = lane.get("name") or ""  # not stripped: the engine looks the name up as it is
            if not name.strip():
                self.add(lane, "lane has no name; name it after a role in processes/rules/roles.yaml",
                         zh="泳道没有名称：请用 processes/rules/roles.yaml 中的角色命名")
            elif name not in self.lane_roles:
                self.add(lane, f"lane {name!r} is not a role in processes/rules/roles.yaml "
                               "(use a role's zh name, an alias or its id)",
                         zh=f"泳道「{name}」不是 processes/rules/roles.yaml 中的角色（请用角色的中文名、别名或编号）")

    def _lanes_of(self, node) -> list:
        """The innermost lanes that list `node`, else those of its enclosing sub-process."""
        lanes = [ref.getparent() for ref in self.root.iterfind(".//bpmn:lane/bpmn:flowNodeRef", NS)
                 if (ref.text or "").strip() == node.get("id")]
        lanes = [lane for lane in lanes if not any(lane in other.iterancestors() for other in lanes)]
        parent = node.getparent()
        if not lanes and parent is not None and local(parent) in CONTAINERS:
            return self._lanes_of(parent)
        return lanes

    def check_human_tasks(self):
        for node in self.flow_nodes:
            if local(node) not in HUMAN_TASKS:
                continue
            lanes = self._lanes_of(node)
            if not lanes:
                self.add(node, f"{_label(node)} is not in any lane; put it in the lane of the role that does it",
                         zh=f"{zh_label(node)}：不在任何泳道中，请放进负责该工作的角色的泳道")
            elif len(lanes) > 1:
                names = ", ".join(repr(lane.get("name")) for lane in lanes)
                self.add(node, f"{_label(node)} is in several lanes ({names}); it must be in exactly one",
                         zh=f"{zh_label(node)}：同时在多个泳道中（{names}），只能在一个泳道中")
            form = _property(node, "form")
            if not (form or "").strip():
                self.add(node, f"{_label(node)} has no form property (the id of a form in forms/)",
                         zh=f"{zh_label(node)}：没有表单（form 属性填 forms/ 中表单的编号）")
            elif form not in self.form_ids:
                self.add(node, f"{_label(node)}: unknown form {form!r} (no forms/{form}.yaml)",
                         zh=f"{zh_label(node)}：表单 {form} 不存在（没有 forms/{form}.yaml）")

    def check_properties(self):
        for node in self.flow_nodes:
            if not (_property(node, "clause") or "").strip():
                self.add(node, f"{_label(node)} has no clause property (the SOP clause it implements)",
                         zh=f"{zh_label(node)}：没有办理依据（clause 属性填它执行的 SOP 条款）")
            sla = _property(node, "sla")
            if sla is not None and sla not in self.sla_keys:
                self.add(node, f"{_label(node)}: unknown sla key {sla!r} (not a target in processes/rules/sla.yaml)",
                         zh=f"{zh_label(node)}：时限 {sla} 不存在（processes/rules/sla.yaml 中没有这个时限）")
            if _property(node, "sla_from") is not None and sla is None:
                self.add(node, f"{_label(node)}: sla_from names when a clock starts, but it has no sla property",
                         zh=f"{zh_label(node)}：设置了 sla_from（计时起点），但没有时限（sla）")
            measure = _property(node, "measure")
            if measure is not None and measure not in MEASURES:
                known = ", ".join(sorted(MEASURES))
                self.add(node, f"{_label(node)}: unknown measure {measure!r} (known: {known})",
                         zh=f"{zh_label(node)}：统计口径 {measure} 不存在（可用：{known}）")

    def check_documentation(self):
        """A document without an executable process is kept as documentation: say once why it never runs."""
        if self.any_executable:
            return
        processes = list(self.root.iterfind(".//bpmn:process", NS))
        if not processes:
            reasons = ["it has no process (a collaboration, choreography or conversation only)"]
        else:
            reasons = ['isExecutable="false"']
            if self.root.find(".//bpmn:lane", NS) is None:
                reasons.append("no lanes (a lane names the role that does each task)")
            human = [n for n in self.flow_nodes if local(n) in HUMAN_TASKS]
            if formless := sum(not _property(n, "form") for n in human):
                reasons.append(f"{formless} of {len(human)} human tasks without a form")
            if unclaused := sum(not _property(n, "clause") for n in self.flow_nodes):
                reasons.append(f"{unclaused} of {len(self.flow_nodes)} elements without a clause")
        anchor = processes[0] if processes else self.root
        self.findings.append(Finding(self.filename, anchor.sourceline, anchor.get("id"), "warning",
                                     "kept as documentation, never run: " + "; ".join(reasons),
                                     "只作为文档保存，不会运行：流程不可执行，或缺少泳道、表单或办理依据"))


def _executable(process) -> bool:
    return process.get("isExecutable", "true") == "true"  # SpiffWorkflow's reading of the attribute


def _process_of(element):
    """The `bpmn:process` element that contains `element` (or is it), else None."""
    for candidate in (element, *element.iterancestors()):
        if local(candidate) == "process":
            return candidate
    return None


def _owner_id(element) -> str | None:
    """The id of the flow node or sequence flow an expression element belongs to."""
    for candidate in element.iterancestors():
        if local(candidate) in FLOW_NODES or local(candidate) == "sequenceFlow":
            return candidate.get("id")
    return element.get("id")


def _property(node, name: str) -> str | None:
    """A spiffworkflow:property value of a node, as the engine will read it; None when absent."""
    values = node.xpath("./bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property"
                        "[@name=$name]/@value", namespaces=NS, name=name)
    return str(values[0]) if values else None


def _label(node) -> str:
    name = (node.get("name") or "").strip()
    return f"{local(node)} {name!r}" if name else local(node)
