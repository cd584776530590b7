"""Task instructions: Jinja templates by process designers, rendered over case data under a budget.

The sandbox keeps templates away from Python internals; the site's budget (CPU time and
memory, `budgets` in sites.yaml) keeps a runaway template from holding a server thread:
the page then shows a notice in place of the instructions.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from jinja2.sandbox import SandboxedEnvironment

from engine.definitions.budget import (
    BINOPS,
    DEFAULT_BUDGET,
    Budget,
    BudgetExceeded,
    budgeted,
    guarded_method,
    guarded_mod,
)
from engine.definitions.compiled import VERSIONS
from engine.runtime.queries import get_instance_row
from web.i18n import pick
from web.templating import localtime


def _format(value, *args, **kwargs):
    """The `format` filter (printf-style) with its field widths checked against the budget."""
    return guarded_mod(str(value), kwargs or args)


class _BudgetedTemplates(SandboxedEnvironment):
    """Jinja's sandbox with `*`, `**`, `%` and padding sized against the budget before they run."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def call_binop(self, context, operator, left, right):
        return BINOPS[operator](left, right)

    def getattr(self, obj, attribute):
        found = super().getattr(obj, attribute)
        return guarded_method(obj, attribute, found) if callable(found) else found


# autoescape off: the page escapes the result as plain text.
_TEMPLATES = _BudgetedTemplates(autoescape=False)
_TEMPLATES.filters["format"] = _format
_TEMPLATES.filters["center"] = lambda value, width=80: guarded_method(str(value), "center", str(value).center)(width)


def render_instructions(template: str | None, data: dict, budget: Budget = DEFAULT_BUDGET,
                        labels: dict | None = None) -> tuple[str | None, str | None]:
    """Render a task's instructions over its data, codes shown by their `labels` (field → code →
    words) and times local; return (text, notice shown instead when it fails)."""
    if not template:
        return None, None
    labels = labels or {}
    shown = {k: _readable(labels.get(k, {}).get(v, v) if isinstance(v, str) else v) for k, v in data.items()}
    try:
        with budgeted(budget):
            return _TEMPLATES.from_string(template).render(**shown), None
    except BudgetExceeded as exc:
        if exc.kind == "cpu":
            return None, _("提示内容超出运行时间限额（%(seconds)s 秒），无法显示；请联系流程设计人员。",
                           seconds=f"{budget.cpu_seconds:g}")
        return None, _("提示内容超出内存限额（%(mb)s MB），无法显示；请联系流程设计人员。", mb=budget.memory_mb)
    except Exception:  # noqa: BLE001 - any template failure is shown as a notice, never a 500
        return None, _("提示内容无法显示")


def code_labels(session, instance_id: int) -> dict[str, dict[str, str]]:
    """Field → code → its words in the reader's language (the version's `code_words`)."""
    compiled = VERSIONS.get(session, get_instance_row(session, instance_id).version_id)
    return {name: {code: pick(zh, en) for code, (zh, en) in codes.items()}
            for name, codes in compiled.code_words.items()}


def _readable(value):
    """A stored time (2026-12-07T07:23:00+08:00) as people read it: local, 2026-12-07 07:23."""
    if isinstance(value, str) and len(value) >= 16 and value[10:11] == "T":
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        if moment.tzinfo is not None:
            return localtime(moment)
    return value
