"""The live-workflow cache hands a workflow back only for the very row its step stored."""

from __future__ import annotations

from types import SimpleNamespace

from engine.runtime.live_workflows import LiveWorkflows


def row(case_id=1, lock_version=2, version_id=7, state_json='{"tasks": 1}'):
    return SimpleNamespace(id=case_id, lock_version=lock_version, version_id=version_id, state_json=state_json)


def test_a_kept_workflow_is_taken_once_for_the_row_it_was_stored_as():
    live, workflow = LiveWorkflows(), object()
    live.keep(row(), workflow)
    assert live.take(row()) is workflow
    assert live.take(row()) is None  # taken: no second step shares it


def test_a_row_changed_since_is_not_served_from_the_cache():
    changed = [row(lock_version=3), row(version_id=8), row(state_json='{"tasks": 2}')]
    for newer in changed:
        live = LiveWorkflows()
        live.keep(row(), object())
        assert live.take(newer) is None
        assert len(live) == 0  # and the stale workflow is dropped


def test_the_least_recently_stepped_cases_make_room():
    live = LiveWorkflows(size=2)
    for case_id in (1, 2, 3):
        live.keep(row(case_id=case_id), object())
    assert len(live) == 2
    assert live.take(row(case_id=1)) is None
    assert live.take(row(case_id=3)) is not None
