"""The filters of a statistics case list in words (时限结果：超时), never as codes (sla=breached)."""

from __future__ import annotations

from flask_babel import lazy_gettext

from engine.stats.labels import Text
from engine.stats.sources import AGE_BUCKETS, BREACHED, CANCELLED, MET, RUNNING, TIMELY
from engine.stats.table_builders import CLASS_LABELS, DURATION_LABELS
from web.stats.cells import label
from web.templating import site_name

KEYS = {"site": lazy_gettext("服务中心"), "process": lazy_gettext("流程"), "category": lazy_gettext("类别"),
        "state": lazy_gettext("状态"), "reopened": lazy_gettext("返工"), "department": lazy_gettext("部门"),
        "target": lazy_gettext("时限目标"), "sla": lazy_gettext("时限结果"), "staff": lazy_gettext("员工"),
        "backlog": lazy_gettext("账龄"), "duration": lazy_gettext("用时"), "complaint_class": lazy_gettext("投诉分类"),
        "followup": lazy_gettext("回访"), "paid": lazy_gettext("有偿维修")}
_STATES = {"open": Text("未结", "Open"), "completed": Text("已结", "Completed"), "cancelled": Text("已取消", "Cancelled")}
_SLA = {MET: Text("及时", "Met"), BREACHED: Text("超时", "Breached"), RUNNING: Text("进行中", "Running"),
        CANCELLED: Text("已取消", "Cancelled"), TIMELY: Text("及时案件", "Cases on time")}
_FOLLOWUP = {"decided": Text("已抽样", "Drawn"), "sampled": Text("抽中回访", "Sampled"),
             "visited": Text("已回访", "Visited")}
_AGES = {key: Text(zh, en) for _upper, key, zh, en in AGE_BUCKETS}
_YES = Text("是", "Yes")


def filter_words(names, key: str, value: str) -> tuple[str, str]:
    """(what is filtered, by what) as the reader says them; an unknown code shows as itself."""
    by_name = {"process": names.process, "category": names.category, "department": names.department,
               "target": names.sla_target, "staff": names.staff}
    if key == "site":
        shown = site_name(value)
    elif key in by_name:
        shown = label(by_name[key](value))
    else:
        words = {"state": _STATES, "sla": _SLA, "followup": _FOLLOWUP, "backlog": _AGES, "duration": DURATION_LABELS,
                 "complaint_class": CLASS_LABELS, "reopened": {"1": _YES}, "paid": {"1": _YES}}.get(key, {})
        shown = label(words.get(value, value))
    return str(KEYS.get(key, key)), shown
