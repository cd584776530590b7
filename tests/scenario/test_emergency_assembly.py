"""Scenario tests of processes/emergency_assembly.bpmn (紧急集合, 001/第5篇 1.1–1.3): one test per path.

The roll-call carries the assembly.arrive limit, so every assembly — a drill too — is met or
breached in the SLA statistics, and the arrival times are kept in the case."""

START = {"trigger": "disaster", "is_drill": False, "assembly_point": "管理处门前"}
CALL = dict(called_via="radio", guards_called=8, on_post_told=True, leadership_told=True)
ROLL = dict(arrived_count=8, arrival_times="赵刚 17:06\n孙伟 17:07", all_arrived=True)


def test_a_real_assembly_within_the_limit(start_case, runtime, sla_limit):
    case = start_case("emergency_assembly", START, as_user="seclead1")
    assert case.reference.startswith("JH-")
    case.complete("call_out", "seclead1", **CALL)
    assert case.task("roll_call").due_at == runtime.clock.now() + sla_limit("assembly.arrive")
    case.wait(minutes=7)
    case.complete("roll_call", "seclead1", **ROLL)
    case.complete("assign_tasks", "seclead1", assignments="赵刚、孙伟疏散3栋；其余守住出入口")
    assert case.path().elements == ["start", "call_out", "roll_call", "assign_tasks", "gw_drill", "gw_drill_merge",
                                    "end"]
    assert [(e, r) for e, r, _ in case.human_trail()] == [
        ("call_out", "security_lead"), ("roll_call", "security_lead"), ("assign_tasks", "security_lead")]
    roll = next(e for e in case.events("task_completed") if e.element_id == "roll_call")
    assert roll.data["submitted"]["arrival_times"] == "赵刚 17:06\n孙伟 17:07"
    assert [e.type for e in case.events() if e.type.startswith("sla_")] == []
    assert case.status == "completed"


def test_a_drill_is_timed_too_and_ends_with_a_review(start_case):
    case = start_case("emergency_assembly", {**START, "trigger": "drill_or_check", "is_drill": True}, as_user="seclead1")
    case.complete("call_out", "seclead1", **CALL)
    case.wait(minutes=10, seconds=1)  # late: the drill's breach is recorded like a real one's
    case.complete("roll_call", "seclead1", **{**ROLL, "all_arrived": False, "absent": "钱某休假"})
    case.complete("assign_tasks", "seclead1", assignments="按方案演练分工")
    case.complete("review_drill", "seclead1", drill_review="两人超时，需加强夜班集合训练")
    assert case.path().elements == ["start", "call_out", "roll_call", "assign_tasks", "gw_drill", "review_drill",
                                    "gw_drill_merge", "end"]
    assert [(e.type, e.element_id) for e in case.events() if e.type.startswith("sla_")][:1] == [
        ("sla_breached", "roll_call")]
    assert case.status == "completed"
