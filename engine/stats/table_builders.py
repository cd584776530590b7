"""The dashboard's tables, built from one month's KPIs and rows: generic `KpiTable`s
whose numbers each carry the drill filter of the cases behind them. Labels are names
(`names.py`); the drills keep the ids."""

from __future__ import annotations

from collections import Counter, defaultdict

from engine.stats import vocabulary as V
from engine.stats.labels import Text
from engine.stats.names import Names
from engine.stats.sources import AGE_BUCKETS, BREACHED, CANCELLED, MET, RUNNING, TIMELY, ratio
from engine.stats.tables import COUNT, LABEL, MONEY, PERCENT, SECONDS, TEXT, VALUE, Column, KpiTable

CASES = Column("cases", "案件数", "Cases")
OPEN = Column("open", "未结", "Open", drill={"state": V.OPEN})
COMPLETED = Column("completed", "已结", "Completed", drill={"state": V.COMPLETED})
CANCELLED_COL = Column("cancelled", "已取消", "Cancelled", drill={"state": V.CANCELLED})
REOPENED = Column("reopened", "返工", "Reopened", drill={"reopened": "1"})
MET_COL = Column("met", "及时", "Met", drill={"sla": MET}, counts="tasks")
BREACHED_COL = Column("breached", "超时", "Breached", drill={"sla": BREACHED}, counts="tasks")
RUNNING_COL = Column("running", "进行中", "Running", drill={"sla": RUNNING}, counts="tasks")
RATE = Column("timeliness_rate", "及时率", "Timeliness rate", PERCENT)
# The breakdowns count cases only (issue #16: 报修 showed 案件数 1 beside 及时 4, its timed steps):
# a case is late when any of its timed steps was, on time when none was. Steps: 时限达成, 按员工.
TIMELY_CASES = Column("timely", "及时案件", "Cases on time", drill={"sla": TIMELY})
LATE_CASES = Column("late", "超时案件", "Cases late", drill={"sla": BREACHED})
CASE_RATE = Column("timeliness_rate", "案件及时率", "Cases on time (rate)", PERCENT)
DURATION_LABELS = {"response": Text("响应时间", "Response time"), "arrival": Text("到场时间", "Arrival time"),
                   "resolution": Text("办结时间", "Resolution time")}
CLASS_LABELS = {V.VALID: Text("有效投诉", "Valid"), V.ASSISTANCE: Text("协办事项", "Assistance"),
                V.EXCESSIVE: Text("过高要求", "Excessive demand")}
# The kinds of visit of followup.yaml, in the order of 001/第2篇 1.3–1.6; a site's own kind shows its id.
FOLLOWUP_KIND_LABELS = {"complaint": Text("投诉回访", "Complaints"), "repair": Text("维修回访", "Repairs"),
                        "community_event": Text("社区文化活动回访", "Community events"),
                        "holiday": Text("重大节日拜访", "Holiday visits"), "move_in": Text("入伙回访", "Move-in visits"),
                        "after_emergency": Text("突发事件后回访", "Visits after emergencies")}


def build_tables(kpis, groups: list, clocks) -> list[KpiTable]:
    """`groups`, `clocks`: the grouped counts of `aggregates.py`; the labels name ids by `kpis.names`."""
    names = kpis.names
    return [summary(kpis), breakdown("by_process", "按流程", "By procedure", "process", groups, clocks, names),
            breakdown("by_category", "按类别", "By category", "category", groups, clocks, names),
            breakdown("by_department", "按部门", "By department", "department", groups, clocks, names),
            sla_table(kpis, names), staff_table(clocks, names), backlog_table(kpis), duration_table(kpis),
            complaint_table(kpis), followup_table(kpis)]


def _row(label, drill: dict | None, **values) -> dict:
    row = {"label": label, **values}
    if drill is not None:
        row["drill"] = drill
    return row


def summary(k) -> KpiTable:
    f = k.followup
    rows = [
        _row(Text("受理案件", "Cases opened"), {}, value=k.cases),
        _row(Text("已结案件", "Cases completed"), {"state": V.COMPLETED}, value=k.completed),
        _row(Text("已取消案件", "Cases cancelled"), {"state": V.CANCELLED}, value=k.cancelled),
        _row(Text("未结案件", "Cases still open"), {"state": V.OPEN}, value=k.open),
        _row(Text("返工案件", "Cases reopened"), {"reopened": "1"}, value=k.reopened),
        _row(Text("月末积压", "Backlog at month end"), {"backlog": "all"}, value=sum(k.backlog.values())),
        _row(Text("及时率", "Timeliness rate"), None, value=k.timeliness_rate, kind=PERCENT),
        _row(Text("有效投诉率", "Valid-complaint rate"), None, value=k.valid_complaint_rate, kind=PERCENT),
        _row(Text("回访率", "Follow-up visit rate"), None, value=f.visit_rate, kind=PERCENT),
        _row(Text("规定回访率", "Policy follow-up rate"), None, value=f.policy_rate, kind=PERCENT),
        _row(Text("满意率", "Satisfaction"), None, value=f.satisfaction, kind=PERCENT),
        _row(Text("有偿维修", "Paid repairs"), {"paid": "1"}, value=k.paid_repairs),
        _row(Text("有偿维修收入（元）", "Paid-repair revenue (CNY)"), {"paid": "1"}, value=k.revenue, kind=MONEY),
    ]
    for row in rows:
        row.setdefault("kind", COUNT)
    return KpiTable("summary", "月度汇总", "Monthly summary",
                    [Column("label", "指标", "Measure", LABEL), Column("value", "数值", "Value", VALUE)], rows)


def breakdown(table_id, zh, en, key, groups, clocks, names: Names) -> KpiTable:
    """Cases and SLA clocks per process, category or department (None shows as "")."""
    column = {"process": "process_id"}.get(key, key)
    cases = defaultdict(Counter)
    for group in groups:
        counts = cases[getattr(group, column) or ""]
        counts["cases"] += group.cases
        counts[group.state] += group.cases
        counts["reopened"] += group.reopened
    judged = clocks.cases_by_group[key]
    rows = [_row(names.of(key, name), {key: name}, cases=c["cases"], open=c[V.OPEN], completed=c[V.COMPLETED],
                 cancelled=c[V.CANCELLED], reopened=c["reopened"], timely=judged[name][TIMELY],
                 late=judged[name][BREACHED],
                 timeliness_rate=ratio(judged[name][TIMELY], judged[name][TIMELY] + judged[name][BREACHED]))
            for name, c in sorted(cases.items())]
    label = Column("label", {"process": "流程", "category": "类别", "department": "部门"}[key],
                   {"process": "Procedure", "category": "Category", "department": "Department"}[key], LABEL)
    return KpiTable(table_id, zh, en, [label, CASES, OPEN, COMPLETED, CANCELLED_COL, REOPENED,
                                       TIMELY_CASES, LATE_CASES, CASE_RATE], rows)


def sla_table(k, names: Names) -> KpiTable:
    rows = [_row(names.sla_target(s.target), {"target": s.target}, limit=s.limit_seconds, met=s.met, breached=s.breached,
                 running=s.running, cancelled=s.cancelled, timeliness_rate=s.timeliness_rate,
                 p50=s.p50_seconds, p90=s.p90_seconds) for s in k.sla]
    return KpiTable("sla", "时限达成", "SLA attainment", [
        Column("label", "时限目标", "SLA target", LABEL), Column("limit", "时限", "Limit", SECONDS),
        MET_COL, BREACHED_COL, RUNNING_COL, Column("cancelled", "已取消", "Cancelled", drill={"sla": CANCELLED}, counts="tasks"),
        RATE, Column("p50", "用时P50", "Time used p50", SECONDS), Column("p90", "用时P90", "Time used p90", SECONDS)],
        rows)


def staff_table(clocks, names: Names) -> KpiTable:
    rows = [_row(names.staff(user), {"staff": user},
                 department=names.department_of_role(clocks.staff_role[user]),
                 tasks=c[MET] + c[BREACHED], met=c[MET], breached=c[BREACHED],
                 timeliness_rate=ratio(c[MET], c[MET] + c[BREACHED]))
            for user, c in sorted(clocks.staff.items())]
    return KpiTable("by_staff", "按员工", "By staff member", [
        Column("label", "员工", "Staff member", LABEL), Column("department", "部门", "Department", LABEL),
        Column("tasks", "计时任务", "Timed tasks", counts="tasks"), MET_COL, BREACHED_COL, RATE], rows)


def backlog_table(k) -> KpiTable:
    rows = [_row(Text(zh, en), {"backlog": key}, cases=k.backlog[key]) for _, key, zh, en in AGE_BUCKETS]
    return KpiTable("backlog", "积压账龄", "Backlog by age", [Column("label", "账龄", "Age", LABEL), CASES], rows)


def duration_table(k) -> KpiTable:
    rows = [_row(DURATION_LABELS[kind], {"duration": kind}, cases=d.count, p50=d.p50_seconds, p90=d.p90_seconds)
            for kind, d in k.durations.items()]
    return KpiTable("durations", "处理用时", "Times taken", [
        Column("label", "用时", "Time", LABEL), CASES, Column("p50", "P50", "p50", SECONDS),
        Column("p90", "P90", "p90", SECONDS)], rows)


def complaint_table(k) -> KpiTable:
    total = sum(k.complaints.values())
    rows = [_row(CLASS_LABELS[c], {"complaint_class": c}, cases=n, share=ratio(n, total))
            for c, n in k.complaints.items()]
    return KpiTable("complaints", "投诉分类", "Complaint classes", [
        Column("label", "类别", "Class", LABEL), CASES, Column("share", "占比", "Share", PERCENT)], rows)


def _followup_row(label, drill: dict, f) -> dict:
    return _row(label, {"followup": "decided", **drill}, decided=f.decided, policy_rate=f.policy_rate,
                sampled=f.sampled, visited=f.visited, visit_rate=f.visit_rate, handled_rate=f.handled_rate,
                visits=f.visits, satisfied=f.satisfied, satisfaction=f.satisfaction)


def followup_table(k) -> KpiTable:
    """《客户回访记录》 (001/第2篇 2.4): a row per kind of visit, then the month's total."""
    order = list(FOLLOWUP_KIND_LABELS) + sorted(set(k.followup_kinds) - set(FOLLOWUP_KIND_LABELS))
    rows = [_followup_row(FOLLOWUP_KIND_LABELS.get(kind, Text(kind, kind)), {"followup_kind": kind},
                          k.followup_kinds[kind]) for kind in order if kind in k.followup_kinds]
    rows.append(_followup_row(Text("合计", "Total"), {}, k.followup))
    return KpiTable("followup", "客户回访记录", "Follow-up visits", [
        Column("label", "项目", "Item", LABEL), Column("decided", "应决定回访", "Decided"),
        Column("policy_rate", "规定回访率", "Policy rate", PERCENT),
        Column("sampled", "抽中回访", "Sampled", drill={"followup": "sampled"}),
        Column("visited", "已回访", "Visited", drill={"followup": "visited"}),
        Column("visit_rate", "回访率", "Visit rate", PERCENT),
        Column("handled_rate", "回访处理率", "Visits made of those due", PERCENT),
        Column("visits", "回访次数", "Visits", TEXT), Column("satisfied", "满意次数", "Satisfied visits", TEXT),
        Column("satisfaction", "满意率", "Satisfaction", PERCENT)], rows)


def rounds_table(rounds: dict, names: Names) -> KpiTable:
    """Rounds of checkpoints per procedure (001/第1篇 2.3–2.5): coverage and time kept; no drill, a
    round is a step of a case and the procedure's case list would show the unwalked ones too."""
    rows = [_row(names.process(pid), None, rounds=r.rounds, complete=r.complete, on_schedule=r.on_schedule,
                 planned=r.planned, visited=r.visited, coverage=r.coverage) for pid, r in sorted(rounds.items())]
    columns = [Column("label", "流程", "Procedure", LABEL), Column("rounds", "巡查次数", "Rounds"),
               Column("complete", "全部签到", "Every point signed"), Column("on_schedule", "按时巡完", "On schedule"),
               Column("planned", "计划签到点", "Checkpoints planned"), Column("visited", "已签到点", "Checkpoints signed"),
               Column("coverage", "签到覆盖率", "Coverage", PERCENT)]
    return KpiTable("rounds", "巡查覆盖", "Patrol coverage", columns, rows)
