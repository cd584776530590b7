"""Deployed versions made ready to run, parsed once and kept in memory.

The cache is keyed by content hash, so it is shared safely between databases (tests
open many) and never has to be invalidated: a version's content never changes.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy import select
from sqlalchemy.orm import Session, load_only

from engine.clock import LOCAL_TZ
from engine.clock import now as clock_now
from engine.definitions.rules import Rules, load_rules
from engine.definitions.scripting import SandboxedScriptEngine, case_reference, followup_tally, request_case
from engine.definitions.state import load_spec
from engine.errors import NotFound, ScriptError
from engine.policy.followup import DATA_NAME as FOLLOWUP_DATA
from engine.policy.followup import FollowupDecision, decide
from engine.policy.moments import HELPERS as moment_helpers
from engine.policy.sla import SUBSTITUTES, SlaDuration, handed_target
from engine.store.models import ProcessVersion


@dataclass
class CompiledVersion:
    """Everything a step needs from a version: specs, rules, forms, outline, flow index."""

    id: int
    process_id: str
    name: str
    version: int
    content_hash: str
    spec: object
    subprocess_specs: dict
    rules: Rules
    forms: dict[str, dict]
    processes: dict[str, dict]  # process id -> outline dict (elements, flows, messages)
    script_engine: SandboxedScriptEngine = field(repr=False, default=None)
    flow_index: dict[tuple[str, str, str], list[str]] = field(default_factory=dict)
    has_timers: bool = True  # False lets a step skip rewriting the timer table
    has_sla: bool = True  # False lets a step skip the SLA clocks

    @property
    def outline(self) -> dict:
        return self.processes[self.process_id]

    @cached_property
    def code_words(self) -> dict[str, dict[str, tuple[str, str | None]]]:
        """Field → code → (zh, en) words of every choice in this version's forms (price-list items
        by their names), gathered once per version rather than on every task page."""
        words: dict[str, dict[str, tuple[str, str | None]]] = {}
        for schema in self.forms.values():
            for name, prop in (schema.get("properties") or {}).items():
                zh, en = prop.get("x-enum-labels") or {}, prop.get("x-enum-labels-en") or {}
                for code in zh:
                    words.setdefault(name, {})[code] = (zh[code], en.get(code))
        return words

    @property
    def reference_prefix(self) -> str:
        return self.outline.get("reference_prefix") or "QZ"

    def element(self, process_id: str, element_id: str) -> dict:
        return self.processes.get(process_id, {}).get("elements", {}).get(element_id, {})

    def find_element(self, element_id: str | None) -> dict:
        """An element by id, looked up in this process first, then in the processes it calls."""
        for pid in (self.process_id, *self.processes):
            found = self.element(pid, element_id)
            if found:
                return found
        return {}

    def label_of(self, element_id: str | None) -> str | None:
        """What people call an element, a flow (its name, else the steps it joins: A → B) or a
        process of this version; None when it names none of them."""
        if not element_id:
            return None
        element = self.find_element(element_id)
        if element:
            return element.get("name") or element_id
        for outline in self.processes.values():
            flow = outline.get("flows", {}).get(element_id)
            if flow:
                return flow.get("name") or " → ".join(self.find_element(end).get("name") or end
                                                      for end in (flow["source"], flow["target"]))
        process = self.processes.get(element_id)
        return process.get("name") if process else None

    def flows_between(self, process_id: str, source: str, target: str) -> list[str]:
        return self.flow_index.get((process_id, source, target), [])


# What a hand-over carries into the new case: the request as the desk registered it.
HAND_OVER_FIELDS = ("site", "category", "caller", "unit", "phone", "description", "received_at", "incident_type")


def _diagram_helpers(rules: Rules):
    """Build the helper functions diagrams may call, bound to a case's site."""

    def helpers(task_data: dict) -> dict:
        site = task_data.get("site") if isinstance(task_data, dict) else None

        def sla(key: str) -> str:
            return SlaDuration.of(rules.sla_policy(handed_target(key, task_data), site), clock_now())

        def followup_decision(category: str) -> dict:
            # Drawn once per case: coming round again (a dissatisfied resident gets another
            # visit) answers with the decision the case holds, never with a new draw.
            held = FollowupDecision.from_data(task_data.get(FOLLOWUP_DATA) if isinstance(task_data, dict) else None)
            if held is not None and held.category == category:
                return task_data[FOLLOWUP_DATA]  # as held, so the trail records no second decision
            reference, at = case_reference(), site or rules.default_site
            rate = rules.followup.rate(at, category)
            month = clock_now().astimezone(LOCAL_TZ).strftime("%Y-%m")
            tally = followup_tally()
            ordinal, sampled_before = tally.take(at, category, month)
            decision = decide(reference, category, rate, month, ordinal, sampled_before)
            if decision.sampled:
                tally.mark_sampled(at, category, month)
            return decision.as_data()

        def category_process(category: str) -> str | None:
            found = rules.categories.get(category)
            return found.process if found else None

        def category_is_special(category: str) -> bool:
            found = rules.categories.get(category)
            return bool(found and found.special)

        def open_case(process_id: str, fields: dict | None = None) -> str:
            # Hand the case's data over to a new case of `process_id`, which the step opens;
            # `fields` adds what one new case is about (a participant of a community event, a
            # patrol's finding) and may hand it a limit of the opener's (SUBSTITUTES). Returns the
            # new case's reference, so the opener can show and follow up the case it handed on.
            if not isinstance(process_id, str) or not process_id:
                raise ScriptError("open_case() needs the id of a procedure")
            data = {k: v for k, v in task_data.items() if k in HAND_OVER_FIELDS} if isinstance(task_data, dict) else {}
            if fields is not None:
                plain = {k: v for k, v in fields.items() if k != SUBSTITUTES} if isinstance(fields, dict) else None
                if plain is None or not all(
                        isinstance(k, str) and isinstance(v, str | int | float | bool) for k, v in plain.items()):
                    raise ScriptError("open_case() takes the new case's fields as a dict of plain values")
                if FOLLOWUP_DATA in fields or "site" in fields:  # never chosen by a script: drawn, or the case's own
                    raise ScriptError(f"open_case() cannot set {FOLLOWUP_DATA!r} or 'site'")
                data.update(fields)
                _check_substitutes(rules, data.get(SUBSTITUTES))
            return request_case(process_id, data) or process_id

        return {"sla": sla, "now": clock_now, "price": rules.price, "followup_decision": followup_decision,
                "category_process": category_process, "category_is_special": category_is_special,
                "open_case": open_case, "case_reference": case_reference, **moment_helpers}

    return helpers


def _check_substitutes(rules: Rules, substitutes) -> None:
    """Refuse a handed time limit that names a target sla.yaml does not have (it would time nothing)."""
    if substitutes is None:
        return
    if not isinstance(substitutes, dict):
        raise ScriptError(f"{SUBSTITUTES} maps the opened case's SLA targets to the ones that time them")
    unknown = sorted(str(k) for pair in substitutes.items() for k in pair if k not in rules.sla_targets)
    if unknown:
        raise ScriptError(f"{SUBSTITUTES} names unknown SLA targets: {', '.join(unknown)}")


def _budget_of(rules: Rules):
    """The budget a case's diagram code runs under: its site's, from the task data."""
    return lambda task_data: rules.budget(task_data.get("site") if isinstance(task_data, dict) else None)


def compile_version(row: ProcessVersion) -> CompiledVersion:
    spec, subprocess_specs = load_spec(row.spec_json)
    rules = load_rules(row.assets["rules"])
    processes = row.assets["processes"]
    flow_index: dict[tuple[str, str, str], list[str]] = {}
    for pid, outline in processes.items():
        for flow_id, flow in outline["flows"].items():
            flow_index.setdefault((pid, flow["source"], flow["target"]), []).append(flow_id)
    # Outlines deployed before the "timer" key existed count as having timers.
    has_timers = any(e.get("timer", True) for outline in processes.values()
                     for e in outline["elements"].values() if e["type"].endswith("Event"))
    has_sla = any(e.get("sla") for outline in processes.values() for e in outline["elements"].values())
    return CompiledVersion(
        id=row.id, process_id=row.process_id, name=row.name, version=row.version, content_hash=row.content_hash,
        has_timers=has_timers, has_sla=has_sla,
        spec=spec, subprocess_specs=subprocess_specs, rules=rules, forms=row.assets["forms"],
        processes=processes, script_engine=SandboxedScriptEngine(helpers=_diagram_helpers(rules), budget_for=_budget_of(rules)),
        flow_index=flow_index,
    )


class VersionCache:
    """A small LRU of compiled versions; the spec JSON is read only on a miss.

    The LRU, keyed by content hash, is the only place a compiled version is kept, so
    `size` bounds the memory whatever the number of databases. Each database (engine)
    adds only a map from version id to content hash, dropped with the engine.
    """

    def __init__(self, size: int = 64):
        self._size = size
        self._by_hash: OrderedDict[str, CompiledVersion] = OrderedDict()
        self._hashes: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # engine -> {id: hash}
        self._lock = threading.Lock()

    def get(self, session: Session, version_id: int) -> CompiledVersion:
        # Version rows never change, so an id seen on this database needs no query again.
        with self._lock:
            hashes = self._hashes.setdefault(session.get_bind(), {})
            hit = self._hit(hashes.get(version_id), version_id)
        if hit is not None:
            return hit
        content_hash = hashes.get(version_id) or _content_hash(session, version_id)
        with self._lock:
            hashes[version_id] = content_hash
            hit = self._hit(content_hash, version_id)  # compiled for another database with the same content
        return hit or self._compile(session, version_id, content_hash)

    def _compile(self, session: Session, version_id: int, content_hash: str) -> CompiledVersion:
        row = session.scalar(select(ProcessVersion).where(ProcessVersion.id == version_id)
                             .options(load_only(ProcessVersion.id, ProcessVersion.process_id,
                                                ProcessVersion.version, ProcessVersion.content_hash,
                                                ProcessVersion.name,
                                                ProcessVersion.spec_json, ProcessVersion.assets)))
        compiled = compile_version(row)
        with self._lock:
            self._by_hash[content_hash] = compiled
            self._by_hash.move_to_end(content_hash)
            while len(self._by_hash) > self._size:
                self._by_hash.popitem(last=False)
        return compiled

    def _hit(self, content_hash: str | None, version_id: int) -> CompiledVersion | None:
        """The kept version with this content and id, now the most recently used; called under the lock."""
        hit = self._by_hash.get(content_hash) if content_hash is not None else None
        if hit is None or hit.id != version_id:  # the same content deployed under another id elsewhere
            return None
        self._by_hash.move_to_end(content_hash)
        return hit


def _content_hash(session: Session, version_id: int) -> str:
    content_hash = session.scalar(select(ProcessVersion.content_hash).where(ProcessVersion.id == version_id))
    if content_hash is None:
        raise NotFound(f"process version {version_id} does not exist")
    return content_hash


VERSIONS = VersionCache()


def current_rules(session: Session) -> Rules | None:
    """The rules of the newest deployed version (sites, roles, SLA targets), or None before any deploy."""
    stmt = select(ProcessVersion.id).where(ProcessVersion.executable.is_(True)).order_by(ProcessVersion.id.desc())
    version_id = session.scalar(stmt.limit(1))
    return VERSIONS.get(session, version_id).rules if version_id is not None else None
