"""Instance state and spec JSON: what a step writes and reads back, also from many threads at once.

waitress serves requests on several threads beside the timer worker, so the serializer
must give each caller its own result whatever the others are doing meanwhile.
"""

from __future__ import annotations

import sys
import threading
from datetime import datetime, timezone
from pathlib import Path

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from engine.definitions.scripting import SandboxedScriptEngine
from engine.definitions.state import dump_spec, dump_state, load_spec, load_state

# A process with a data object, so its spec carries data associations (objects inside lists).
NOTED = Path(__file__).parent / "state_diagrams" / "noted.bpmn"
THREADS = 4
ROUNDS = 150


def _noted_spec():
    parser = SpiffBpmnParser()
    parser.add_bpmn_file(str(NOTED))
    return parser.get_spec("noted")


def _waiting_case(spec, owner: int) -> BpmnWorkflow:
    workflow = BpmnWorkflow(spec, script_engine=SandboxedScriptEngine())
    workflow.task_tree.data.update(owner=owner, opened_at=datetime(2026, 11, 23, 9, owner, tzinfo=timezone.utc))
    workflow.do_engine_steps()
    return workflow


def _ready_data(workflow: BpmnWorkflow) -> dict:
    [task] = workflow.get_tasks(spec_name="read")
    return task.data


def test_state_round_trip_keeps_task_data_and_data_objects():
    spec = _noted_spec()
    restored = load_state(dump_state(_waiting_case(spec, 7)), spec, {}, SandboxedScriptEngine())
    data = _ready_data(restored)
    assert data["owner"] == 7
    assert data["opened_at"] == datetime(2026, 11, 23, 9, 7, tzinfo=timezone.utc)
    assert data["note_obj"] == "seen"  # read from the data object the script task wrote


def test_concurrent_dumps_and_loads_stay_independent():
    """Cases saved and restored on several threads, while a version deploys, each get their own result."""
    spec = _noted_spec()
    spec_json = dump_spec(spec, {})
    cases = {owner: _waiting_case(spec, owner) for owner in range(THREADS)}
    expected = {owner: dump_state(workflow) for owner, workflow in cases.items()}
    failures: list[str] = []
    start = threading.Barrier(THREADS + 1)

    def save_and_restore(owner: int):
        workflow = cases[owner]
        start.wait()
        for _ in range(ROUNDS):
            state = dump_state(workflow)
            if state != expected[owner]:
                failures.append(f"case {owner}: its state changed while others saved theirs")
                return
            workflow = load_state(state, spec, {}, SandboxedScriptEngine())
            if _ready_data(workflow)["owner"] != owner:
                failures.append(f"case {owner}: restored another case's data")
                return

    def deploy():
        start.wait()
        while any(saver.is_alive() for saver in savers):
            try:
                if dump_spec(spec, {}) != spec_json:
                    failures.append("the spec JSON changed while cases were saved")
                    return
            except TypeError as exc:  # a data association left unconverted
                failures.append(f"deploying failed while cases were saved: {exc}")
                return

    savers = [threading.Thread(target=save_and_restore, args=(owner,)) for owner in range(THREADS)]
    threads = [*savers, threading.Thread(target=deploy)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads often, so calls overlap mid-way
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert failures == []
    restored_spec, _ = load_spec(spec_json)
    assert sorted(restored_spec.task_specs) == sorted(spec.task_specs)
