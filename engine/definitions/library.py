"""The process library: read a bundle from disk, check it, deploy immutable versions.

A bundle is every BPMN and DMN file, every form and every rules file. Each executable
process is deployed as its own version, keyed by the hash of what it depends on (its
file, the files of the processes it calls, the forms they name, the DMN tables and
the rules), so redeploying unchanged content creates nothing.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path, PurePath

from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import clock
from engine.audit import chain as audit
from engine.audit.events import EventType
from engine.definitions.catalogue_lint import catalogue_findings
from engine.definitions.diagram import ProcessOutline, outline_processes
from engine.definitions.duty_lint import duty_holiday_findings
from engine.definitions.form_people import lint_staff_fields
from engine.definitions.forms import fill_lists, load_forms, unknown_sla_marks
from engine.definitions.lint import lint_tree
from engine.definitions.rules import Rules, load_rules
from engine.definitions.sla_lint import missing_holiday_years, unknown_pause_elements
from engine.definitions.staff_lists import assignee_findings
from engine.definitions.state import dump_spec
from engine.definitions.traceability import CLAUSES_FILE, trace_findings
from engine.definitions.xmlsafe import parse_xml
from engine.errors import BadInput, DefinitionError, Finding
from engine.store.models import ProcessVersion


@dataclass
class Bundle:
    """The files of a process library, by path relative to their folder."""

    bpmn: dict[str, bytes] = field(default_factory=dict)
    dmn: dict[str, bytes] = field(default_factory=dict)
    forms: dict[str, str] = field(default_factory=dict)
    rules: dict[str, str] = field(default_factory=dict)


def read_bundle(processes_dir: Path = Path("processes"), forms_dir: Path = Path("forms")) -> Bundle:
    """Read `processes/*.bpmn`, `*.dmn`, `processes/rules/*.yaml` and `forms/**/*.yaml`."""
    bundle = Bundle()
    for path in sorted(processes_dir.glob("*.bpmn")):
        bundle.bpmn[path.name] = path.read_bytes()
    for path in sorted(processes_dir.glob("*.dmn")):
        bundle.dmn[path.name] = path.read_bytes()
    for path in sorted((processes_dir / "rules").glob("*.yaml")):
        bundle.rules[path.name] = path.read_text(encoding="utf-8")
    for path in sorted(forms_dir.rglob("*.yaml")):
        bundle.forms[path.relative_to(forms_dir).as_posix()] = path.read_text(encoding="utf-8")
    return bundle


def write_diagram(processes_dir: Path, name: str, xml: str) -> Path:
    """Write a deployed diagram into the library folder as `name`, whole or not at all."""
    if PurePath(name).name != name or not name.endswith(".bpmn"):
        raise BadInput(f"{name!r} is not the name of a diagram file")
    target = processes_dir / name
    with tempfile.NamedTemporaryFile("wb", dir=processes_dir, prefix=f".{name}.", delete=False) as temporary:
        temporary.write(xml.encode("utf-8"))
    # A temporary file is private (0600): keep the mode the file had, so the repository's owner still reads it.
    os.chmod(temporary.name, target.stat().st_mode if target.exists() else 0o644)
    os.replace(temporary.name, target)  # atomic: a reader sees the old file or the new one
    return target


@dataclass
class CheckedBundle:
    rules: Rules | None
    forms: dict[str, dict]
    outlines: dict[str, ProcessOutline]
    findings: list[Finding]

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]


def check_bundle(bundle: Bundle, *, partial: bool = False, lint_only: set[str] | None = None,
                 deployed_process_ids: Collection[str] = frozenset()) -> CheckedBundle:
    """Validate rules, forms and every diagram; return all findings, never raise for content.

    `partial` means the diagrams are a selection (files named to `estatedesk lint`), so
    requirements whose processes are not among them are not reported as unimplemented.
    `lint_only` names the files to lint; the others are only read for their process ids.
    `deployed_process_ids` (from the database, when there is one) name the calls into
    processes that are deployed but missing from the library.
    """
    findings: list[Finding] = []
    rules, forms = None, {}
    try:
        rules = load_rules(bundle.rules)
    except DefinitionError as exc:
        findings.extend(exc.findings)
    try:
        forms = fill_lists(load_forms(bundle.forms), rules)
    except DefinitionError as exc:
        findings.extend(exc.findings)
    if rules is not None:
        findings.extend(lint_staff_fields(forms, rules.roles))
    outlines: dict[str, ProcessOutline] = {}
    trees = {}
    for name, data in bundle.bpmn.items():
        try:
            trees[name] = parse_xml(data, f"processes/{name}")
        except DefinitionError as exc:
            findings.extend(exc.findings)
            continue
        # Outline before linting: SpiffWorkflow's validator rewrites parts of the tree.
        outlines.update(outline_processes(trees[name], name))
    dmn_trees = {}
    for name, data in bundle.dmn.items():
        try:
            dmn_trees[name] = parse_xml(data, f"processes/{name}")
        except DefinitionError as exc:
            findings.extend(exc.findings)
    lane_roles = rules.lane_roles if rules else {}
    sla_keys = set(rules.sla_targets) if rules else set()
    for name, tree in trees.items():
        if lint_only is not None and name not in lint_only:
            continue
        findings.extend(lint_tree(tree, f"processes/{name}", lane_roles=lane_roles, form_ids=set(forms),
                                  sla_keys=sla_keys, known_process_ids=set(outlines), dmn_trees=dmn_trees,
                                  deployed_process_ids=deployed_process_ids))
    findings.extend(trace_findings(bundle.rules.get(CLAUSES_FILE), outlines, check_requirements=not partial))
    if rules:
        checked = {n: t for n, t in trees.items() if lint_only is None or n in lint_only}
        findings.extend(catalogue_findings(checked, outlines, rules, set(forms), bundle.rules.get("categories.yaml"),
                                           set(outlines) if not partial else set(outlines) | _all_categorised(rules)))
        findings.extend(unknown_sla_marks(forms, bundle.forms, sla_keys))
        findings.extend(assignee_findings({k: o for k, o in outlines.items() if lint_only is None or o.file in lint_only},
                                          forms, rules.lane_roles))
        element_ids = {element_id for outline in outlines.values() for element_id in outline.elements}
        findings.extend(unknown_pause_elements(rules.sla, bundle.rules["sla.yaml"], element_ids))
        today = clock.now().astimezone(clock.LOCAL_TZ).date()
        findings.extend(missing_holiday_years(rules.sla, bundle.rules["sla.yaml"], today))
        if rules.duty is not None:
            findings.extend(duty_holiday_findings(rules.duty, bundle.rules["duty.yaml"], today))
    return CheckedBundle(rules, forms, outlines, _unique(findings))


def _all_categorised(rules: Rules) -> set[str]:
    """Linting part of a library, the processes the categories route to count as known."""
    return {c.process for c in rules.categories.values() if c.process} | ({rules.triage} if rules.triage else set())


def _unique(findings: list[Finding]) -> list[Finding]:
    return list(dict.fromkeys(findings))


@dataclass(frozen=True)
class DeployResult:
    process_id: str
    version: int
    created: bool


@dataclass(frozen=True)
class PreparedProcess:
    """What deploying one process writes, computed once per bundle content."""

    process_id: str
    name: str
    bpmn_file: str
    content_hash: str
    spec_json: str
    assets: dict


def bundle_digest(bundle: Bundle) -> str:
    digest = hashlib.sha256()
    for kind in ("bpmn", "dmn", "forms", "rules"):
        for name, content in sorted(getattr(bundle, kind).items()):
            data = content if isinstance(content, bytes) else content.encode()
            digest.update(f"{kind}\0{name}\0{len(data)}\0".encode())
            digest.update(data)
    return digest.hexdigest()


_PREPARED: dict[str, list[PreparedProcess]] = {}


def prepare_bundle(bundle: Bundle) -> list[PreparedProcess]:
    """Check a bundle and parse its executable processes; cached by content digest."""
    key = bundle_digest(bundle)
    if key in _PREPARED:
        return _PREPARED[key]
    checked = check_bundle(bundle)
    if checked.errors:
        raise DefinitionError(checked.findings)
    parser = _parser_for(bundle)
    prepared = []
    for process_id in sorted(parser.get_process_ids()):
        outline = checked.outlines[process_id]
        related = _called_closure(process_id, checked.outlines)
        assets = _assets(bundle, checked, process_id, related)
        prepared.append(PreparedProcess(
            process_id=process_id, name=outline.name or process_id, bpmn_file=outline.file,
            content_hash=_content_hash(bundle, checked, related, assets["forms"]),
            spec_json=dump_spec(parser.get_spec(process_id), parser.get_subprocess_specs(process_id)),
            assets=assets,
        ))
    if len(_PREPARED) > 16:
        _PREPARED.clear()
    _PREPARED[key] = prepared
    return prepared


def deploy_bundle(session: Session, bundle: Bundle, actor: str, note: str = "") -> list[DeployResult]:
    """Deploy every executable process of a bundle whose content changed (in the caller's transaction)."""
    results = []
    for process in prepare_bundle(bundle):
        existing = session.scalar(select(ProcessVersion).where(
            ProcessVersion.process_id == process.process_id, ProcessVersion.content_hash == process.content_hash))
        if existing is not None:
            results.append(DeployResult(process.process_id, existing.version, False))
            continue
        number = (session.scalar(select(func.max(ProcessVersion.version)).where(
            ProcessVersion.process_id == process.process_id)) or 0) + 1
        session.add(ProcessVersion(
            process_id=process.process_id, version=number, name=process.name,
            content_hash=process.content_hash, bpmn_file=process.bpmn_file,
            bpmn_xml=bundle.bpmn[process.bpmn_file].decode("utf-8"), spec_json=process.spec_json,
            assets=process.assets, executable=True, created_at=clock.now(), created_by=actor, note=note,
        ))
        session.flush()
        audit.append_events(session, [audit.NewEvent(
            EventType.DEPLOYED, actor=actor, element_id=process.process_id,
            data={"version": number, "content_hash": process.content_hash, "note": note})], clock.now())
        results.append(DeployResult(process.process_id, number, True))
    return results


def _parser_for(bundle: Bundle) -> SpiffBpmnParser:
    parser = SpiffBpmnParser(validator=VALIDATOR)
    for name, data in bundle.bpmn.items():
        parser.add_bpmn_xml(parse_xml(data, f"processes/{name}"), filename=name)
    for name, data in bundle.dmn.items():
        parser.add_dmn_xml(parse_xml(data, f"processes/{name}").getroot(), filename=name)
    return parser


def _called_closure(process_id: str, outlines: dict[str, ProcessOutline]) -> list[str]:
    """The process and every process it calls, directly or through others."""
    seen, todo = [], [process_id]
    while todo:
        current = todo.pop()
        if current in seen or current not in outlines:
            continue
        seen.append(current)
        todo.extend(outlines[current].called_processes)
    return sorted(seen)


def _assets(bundle: Bundle, checked: CheckedBundle, process_id: str, related: list[str]) -> dict:
    outlines = {pid: checked.outlines[pid] for pid in related}
    form_ids = sorted({e["form"] for o in outlines.values() for e in o.elements.values() if e.get("form")}
                      | {o.start_form for o in outlines.values() if o.start_form and o.start_form in checked.forms})
    own_file = checked.outlines[process_id].file
    return {
        "processes": {pid: o.to_dict() for pid, o in outlines.items()},
        # The diagrams of called processes, as deployed, so an auditor can drill into them.
        "bpmn_files": {o.file: bundle.bpmn[o.file].decode("utf-8") for o in outlines.values() if o.file != own_file},
        "forms": {fid: checked.forms[fid] for fid in form_ids},
        "rules": dict(bundle.rules),
    }


def _content_hash(bundle: Bundle, checked: CheckedBundle, related: list[str], form_ids) -> str:
    digest = hashlib.sha256()
    files = {checked.outlines[pid].file for pid in related}
    parts = [("bpmn", name, bundle.bpmn[name]) for name in sorted(files)]
    parts += [("dmn", name, data) for name, data in sorted(bundle.dmn.items())]
    # staff.yaml too: notifications read a person's contacts and language from the rules of a
    # version, and compiled versions are cached by this hash.
    parts += [("rules", name, text.encode()) for name, text in sorted(bundle.rules.items())]
    parts += [("form", fid, bundle.forms[f"{fid}.yaml"].encode()) for fid in sorted(form_ids)]
    for kind, name, data in parts:
        digest.update(f"{kind}\0{name}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()

