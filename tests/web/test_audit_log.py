"""The auditor's pages: search and export the log, verify the chain, print a case's record;
and the auditor can read everything but change nothing."""

import csv
import io
import json
import re

import pytest
from sqlalchemy import text

TAMPERED = "UPDATE event SET actor = 'mallory' WHERE id = :id"


@pytest.fixture
def two_cases(cases):
    first = cases.start(as_user="reception1", unit="3-2-1201")
    cases.complete(first.id, "choose_help", "reception1")
    second = cases.start(as_user="supervisor1", unit="5-1-0302")
    return first, second


def test_search_filters_by_actor_outcome_and_unit(web, two_cases):
    first, second = two_cases
    web.login("auditor1")
    page = web.get_text("/audit?actor=reception1&type=task_completed")
    assert first.reference in page and second.reference not in page
    assert "共 1 条" in page
    page = web.get_text("/audit?unit=5-1-0302")
    assert second.reference in page and first.reference not in page


def test_date_range_is_in_local_days(web, two_cases):
    web.login("auditor1")
    assert "没有符合条件的记录" in web.get_text("/audit?until=2000-01-01")
    assert "没有符合条件的记录" not in web.get_text("/audit?since=2000-01-01")


def test_a_bad_date_is_a_clear_400(web):
    web.login("auditor1")
    response = web.client.get("/audit?since=yesterday")
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "YYYY-MM-DD" in body and "Traceback" not in body


def test_csv_export_has_every_matching_event_with_its_hash(web, two_cases):
    first, _ = two_cases
    web.login("auditor1")
    response = web.client.get(f"/audit/export.csv?reference={first.reference}")
    assert response.status_code == 200 and response.content_type == "text/csv; charset=utf-8"
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(body.lstrip("\ufeff"))))  # headers in Chinese (issue #16)
    assert {r["案件编号"] for r in rows} == {first.reference}
    assert rows[0]["事件"] == "instance_started" and len(rows[0]["哈希"]) == 64
    completed = [r for r in rows if r["事件"] == "task_completed"]
    assert completed[0]["操作人"] == "reception1" and json.loads(completed[0]["数据"])["submitted"]
    flows = [r for r in rows if r["事件"] == "flow_taken"]
    assert flows[0]["环节编号"].startswith("Flow_") and " → " in flows[0]["环节"]  # the id kept, and named


def test_json_export_matches_the_search(web, two_cases):
    first, second = two_cases
    web.login("auditor1")
    data = web.client.get("/audit/export.json?actor=supervisor1").get_json()
    assert data and {row["reference"] for row in data} == {second.reference}
    assert [row["id"] for row in data] == sorted(row["id"] for row in data)


def test_verify_names_the_first_row_altered_directly_in_sql(web, two_cases, runtime):
    web.login("auditor1")
    assert "审计记录完整" in web.get_text("/audit/verify")
    with runtime.db.engine.begin() as conn:
        victim = conn.execute(text("SELECT min(id) FROM event WHERE type = 'task_completed'")).scalar()
        conn.execute(text(TAMPERED), {"id": victim})
    page = web.get_text("/audit/verify")
    assert "审计记录被改动" in page and f"#{victim}" in page


def test_verify_names_a_deleted_head_in_the_readers_language(web, two_cases, runtime):
    """The page runs the same verification as `estatedesk audit verify`, and says it in Chinese."""
    web.login("auditor1")
    second = two_cases[1].id
    with runtime.db.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_chain WHERE chain = :chain"), {"chain": f"case:{second}"})
    page = web.get_text("/audit/verify")
    assert f"链 case:{second} 的链头缺失（链头被删除）" in page and "head deleted" not in page
    web.client.get("/lang/en")
    assert f"chain case:{second} has no head (head deleted)" in web.get_text("/audit/verify")


def test_printable_record_lists_the_whole_trail(web, two_cases):
    first, _ = two_cases
    web.login("auditor1")
    page = web.get_text(f"/cases/{first.reference}/record")
    assert "data-print" in page and "任务完成" in page and "reception1" in page


def test_staff_without_audit_rights_cannot_search(web):
    web.login("guard1")
    assert web.client.get("/audit").status_code == 403
    assert web.client.get("/audit/export.csv").status_code == 403


OPEN_TO_ALL = {"/login", "/logout", "/lang/<code>"}
# One's own reading state and password are not records: an auditor may mark their
# notifications read and change their password.
PERSONAL = {"/notifications/read", "/account/password"}


def test_the_auditor_can_change_nothing(web, app, two_cases, cases):
    first, _ = two_cases
    task = cases.task(first.id, "call_120")
    values = {"task_id": task.id, "ref": first.reference, "name": "ambulance_arrived", "code": "en"}
    web.login("auditor1")
    writes = [rule for rule in app.url_map.iter_rules()
              if rule.methods & {"POST", "PUT", "PATCH", "DELETE"} and rule.rule not in OPEN_TO_ALL | PERSONAL
              and not rule.rule.startswith("/static")]
    assert writes, "no write routes found"
    for rule in writes:
        # Each <name> or <converter:name> by a value that routes: a number where the rule wants one.
        path = re.sub(r"<(?:(\w+):)?(\w+)>", lambda m: str(values.get(m[2], "1" if m[1] == "int" else "x")),
                      rule.rule)
        assert web.post(path).status_code == 403, path
    assert cases.task(first.id, "call_120").status == "ready"


def test_the_auditor_can_read_cases_diagrams_and_the_log(web, two_cases):
    first, _ = two_cases
    web.login("auditor1")
    for path in (f"/cases/{first.reference}", f"/cases/{first.reference}/diagram.json", "/audit",
                 f"/cases/{first.reference}/record", "/audit/verify"):
        assert web.client.get(path).status_code == 200, path


def test_without_the_audit_key_the_page_says_so_in_chinese_and_the_log_names_it(web, two_cases, monkeypatch, caplog):
    web.login("auditor1")
    monkeypatch.delenv("ESTATEDESK_AUDIT_KEY")
    response = web.client.get("/audit/verify")
    page = response.get_data(as_text=True)
    assert response.status_code == 500 and "系统出错" in page and "ESTATEDESK" not in page
    assert "audit key is not configured" in caplog.text
def test_audit_shows_procedures_by_name_and_finds_them_by_name(web, two_cases):
    first, _ = two_cases
    web.login("auditor1")
    page = web.get_text("/audit?process_id=急救病人")
    assert first.reference in page and "<td>急救病人</td>" in page and "<td>emergency_patient</td>" not in page


def test_every_event_type_has_words_in_both_languages(app):
    from engine.audit.events import EventType
    from web.i18n import event_label

    with app.test_request_context("/"):
        unnamed = [t.value for t in EventType if event_label(t.value) == t.value]
    assert unnamed == []


def test_the_table_names_flows_and_procedures_by_their_labels_not_their_ids(web, two_cases):
    web.login("auditor1")
    page = web.get_text("/audit")
    table = page.split('<table class="audit">')[1].split("</table>")[0]
    assert "Flow_" not in table and "<td>deployed</td>" not in table and "<td>发布流程</td>" in table
    assert "收到急救病人求助 → 登记病人地址与电话、询问求助方式" in table  # a flow by the steps it joins
    web.client.get("/lang/en")
    table = web.get_text("/audit").split('<table class="audit">')[1].split("</table>")[0]
    assert "Flow_" not in table and "<td>Procedure deployed</td>" in table


def test_the_step_filter_takes_the_steps_name_as_the_table_shows_it(web, two_cases):
    first, _second = two_cases
    web.login("auditor1")
    by_id = web.get_text("/audit?element_id=choose_help&type=task_completed")
    by_name = web.get_text("/audit?element_id=登记病人地址与电话、询问求助方式&type=task_completed")
    assert "共 1 条" in by_id and "共 1 条" in by_name and first.reference in by_name


def test_the_printed_record_names_flows_by_the_steps_they_join(web, two_cases):
    first, _second = two_cases
    web.login("auditor1")
    table = web.get_text(f"/cases/{first.reference}/record").split('<table class="audit record">')[1]
    cells = [c.split("</td>")[0] for c in table.split("<td>")[1:]]
    assert not [c for c in cells if c.startswith("Flow_")]
    assert "收到急救病人求助 → 登记病人地址与电话、询问求助方式" in cells


def test_people_are_shown_and_found_by_name_as_well_as_username(web, two_cases):
    first, second = two_cases
    web.login("auditor1")
    by_name = web.get_text("/audit?actor=王敏&type=task_completed")
    assert "共 1 条" in by_name and first.reference in by_name and second.reference not in by_name
    table = by_name.split('<table class="audit">')[1].split("</table>")[0]
    assert "<td>王敏 (reception1)</td>" in table
