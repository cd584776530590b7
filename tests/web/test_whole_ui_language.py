"""Every page and every form of the library in the reader's language (issue #16): the
Chinese UI shows no English sentence, an English form no untranslated label or help.
(Every UI string's English is checked by test_i18n; names of procedures and steps stay
as drawn in both languages.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from flask import render_template_string

from web.forms import describe_form

ROOT = Path(__file__).resolve().parents[2]
FORMS = sorted((ROOT / "forms").rglob("*.yaml"))
# Three English words in a row: a sentence, not a code, a unit or a brand (EstateDesk).
ENGLISH_SENTENCE = re.compile(r"\b[A-Za-z]{2,}(?:[ ,'][A-Za-z]{2,}){2,}")
CJK = re.compile(r"[\u4e00-\u9fff]")
FIELDS = '{% from "_fields.html" import field %}{% for f in fields %}{{ field(f) }}{% endfor %}'
TAGS = re.compile(r"<[^>]+>")
# Chinese an English reader is told to type is quoted: write “匿名” if they give none.
QUOTED = re.compile(r"“[^”]*”")
# SOP clauses are cited as the seeds number them, in either language: 000 四.1(1), 001/第6篇 4.2.
CLAUSE = re.compile(r"\b\d{3}(?:/第\d+篇)? ?(?:篇\d+ |[一二三四五六七八九十]+\.)?[\d.()]*")


def visible_text(html: str) -> str:
    """The text a reader sees: no tags, attributes, scripts or styles."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return TAGS.sub(" ", html)


def _render_form(app, path: Path, lang: str) -> str:
    schema = yaml.safe_load(path.read_text(encoding="utf-8"))
    with app.test_request_context("/", headers={"Cookie": ""}):
        from flask import session

        session["lang"] = lang
        return visible_text(render_template_string(FIELDS, fields=describe_form(schema)))


@pytest.mark.parametrize("path", FORMS, ids=lambda p: str(p.relative_to(ROOT / "forms")))
def test_every_form_reads_in_chinese_and_in_english(app, path):
    zh, en = _render_form(app, path, "zh"), CLAUSE.sub("", QUOTED.sub("", _render_form(app, path, "en")))
    assert not ENGLISH_SENTENCE.search(zh), ENGLISH_SENTENCE.search(zh).group(0)
    assert not CJK.search(en), en[max(0, CJK.search(en).start() - 60):CJK.search(en).start() + 20]


def _pages(app, case, task) -> list[str]:
    """Every page a GET opens: each route without arguments, and those of one case and task."""
    fill = {"ref": case.reference, "task_id": task.id, "process_id": "emergency_patient", "code": None}
    pages = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint.startswith(("static", "api.")) or "lang" in rule.rule:
            continue
        if any(fill.get(arg) is None for arg in rule.arguments):
            continue
        pages.append(rule.rule.replace("<", "{").replace(">", "}").format(
            **{arg: fill[arg] for arg in rule.arguments}) if rule.arguments else rule.rule)
    return sorted(set(p for p in pages if "{" not in p))


@pytest.mark.parametrize("user", ["reception1", "supervisor1", "manager1", "auditor1", "designer1", "guard1"])
def test_every_page_shows_no_english_sentence_in_chinese(app, web, cases, user):
    case = cases.start(description="老人晕倒")
    task = cases.task(case.id, "choose_help")
    web.login(user)
    found, read = {}, 0
    for path in _pages(app, case, task):
        response = web.client.get(path)
        if response.status_code >= 300 or response.mimetype != "text/html":
            response.close()  # exports stream; only pages are read
            continue
        read += 1
        html = response.get_data(as_text=True)
        main = visible_text(html[html.find("<main"):html.find("</main>")] if "<main" in html else html)
        sentence = ENGLISH_SENTENCE.search(main)
        if sentence:
            found[path] = sentence.group(0)
    assert read >= 8 and found == {}
