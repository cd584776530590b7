"""No request body over MAX_CONTENT_LENGTH is read (a clear 413), and no diagram over
MAX_DIAGRAM_BYTES is stored as a version or a draft (issue #20, finding 6)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.definitions.diagram_files import MAX_DIAGRAM_BYTES
from web import MAX_REQUEST_BYTES

ROOT = Path(__file__).resolve().parents[2]


def padded_water_leak(size: int) -> str:
    """The water-leak diagram grown to about `size` bytes by a comment: still a valid diagram."""
    xml = (ROOT / "processes" / "water_leak.bpmn").read_text(encoding="utf-8")
    return xml.replace("</bpmn:definitions>", f"<!-- {'x' * size} --></bpmn:definitions>")


@pytest.fixture
def designer(web):
    web.login("designer1")
    return web


def post_json(web, path: str, body: dict, **headers):
    return web.client.post(path, json=body, headers={"X-CSRFToken": web.token("/processes"), **headers})


def versions_of(designer) -> str:
    return designer.get_text("/processes/water_leak/versions")


def test_a_body_over_the_limit_is_refused_with_a_clear_page_and_nothing_is_kept(designer):
    response = post_json(designer, "/processes/water_leak/deploy",
                         {"xml": padded_water_leak(MAX_REQUEST_BYTES), "note": "大文件"})
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "413 · 内容过大" in page and "提交的内容超过 4.0 MB 的上限，未保存" in page
    assert "大文件" not in versions_of(designer)


def test_the_413_page_is_in_english_when_english_is_chosen(designer):
    designer.client.get("/lang/en")
    response = post_json(designer, "/processes/water_leak/deploy", {"xml": padded_water_leak(MAX_REQUEST_BYTES)})
    page = response.get_data(as_text=True)
    assert response.status_code == 413 and "Too large" in page and "more than the 4.0 MB" in page


def test_a_diagram_over_its_cap_is_neither_deployed_nor_kept_as_a_draft(designer):
    xml = padded_water_leak(MAX_DIAGRAM_BYTES)
    assert len(xml.encode()) < MAX_REQUEST_BYTES  # the request itself is small enough
    for path in ("/processes/water_leak/deploy", "/processes/water_leak/draft"):
        response = post_json(designer, path, {"xml": xml, "note": "大图"}, Accept="application/json")
        assert response.status_code == 400
        detail = response.get_json()["detail"]
        assert detail.startswith("water_leak.bpmn 有 2.0 MB，超过流程图 2.0 MB 的上限，未保存"), detail
    assert "大图" not in versions_of(designer)
    assert "x" * 1000 not in designer.get_text("/processes/water_leak/edit")


def test_an_api_body_over_the_limit_is_a_json_413(api):
    response = api.post("/cases", "reception1", json={"caller": "x" * MAX_REQUEST_BYTES})
    assert response.status_code == 413
    assert response.get_json() == {"error": f"the request body is larger than the {MAX_REQUEST_BYTES} bytes "
                                            "the API accepts"}
