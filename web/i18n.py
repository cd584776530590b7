"""Chinese by default, English on request: the message catalogue and the language switch.

Templates write every visible string in Chinese inside `_()`; the catalogue maps it to
English. A string missing from the catalogue shows in Chinese (tests list the gaps).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, redirect, request, session

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"

EN = {
    # layout and navigation
    "物业客服中心": "Property service centre",
    "待办任务": "My tasks",
    "新建求助": "New request",
    "退出": "Log out",
    "登录": "Log in",
    "用户名": "Username",
    "密码": "Password",
    "用户名或密码不正确": "Wrong username or password",
    "请先登录": "Please log in first",
    "已退出": "Logged out",
    "当前用户": "Signed in as",
    "系统": "System",
    # inbox
    "案件编号": "Case",
    "流程": "Procedure",
    "单元": "Unit",
    "任务": "Task",
    "已等待": "Waiting",
    "期限": "Due",
    "处理人": "Held by",
    "操作": "Actions",
    "认领": "Claim",
    "放弃": "Release",
    "转派": "Reassign",
    "转派给…": "Reassign to…",
    "没有待办任务": "No open tasks",
    "已超时": "overdue",
    "分钟": "min",
    "小时": "h",
    "天": "d",
    "已认领": "Claimed",
    "已放弃认领": "Released",
    "已转派": "Reassigned",
    # task page
    "案件": "Case",
    "办理依据": "SOP clause",
    "说明": "Notes",
    "提示": "Instructions",
    "提示内容无法显示": "The instructions could not be shown",
    "提交": "Submit",
    "已提交": "Submitted",
    "必填": "required",
    "此项必填": "This field is required",
    "最多 {n} 个字": "At most {n} characters",
    "提交前必须勾选": "Must be ticked before submitting",
    "请输入整数": "Enter a whole number",
    "请输入数字": "Enter a number",
    "时间格式不正确": "Enter a valid date and time",
    "格式不正确": "Invalid format",
    "请选择": "Choose…",
    "添加一行": "Add a row",
    "每行一项": "one per line",
    "表单有错误，请修改后再提交": "The form has errors; correct them and submit again",
    "案件已被他人更新": "The case was changed by someone else",
    "你填写的内容仍在下方。请重新打开任务查看最新情况后再提交。":
        "What you typed is still below. Reload the task to see the latest state, then submit again.",
    "重新打开任务": "Reload the task",
    "此任务不需要填写表单。": "This task has no form.",
    "任务状态": "Task status",
    # case view and intake
    "案件详情": "Case",
    "状态": "Status",
    "服务中心": "Site",
    "求助人": "Caller",
    "电话": "Phone",
    "描述": "Description",
    "当前任务": "Open tasks",
    "记录": "Timeline",
    "时间": "Time",
    "事件": "Event",
    "人员": "By",
    "环节": "Element",
    "外部消息": "Messages from outside",
    "已收到消息": "Message delivered",
    "该案件当前不在等待此消息": "The case is not waiting for this message now",
    "添加备注": "Add a comment",
    "已添加备注": "Comment added",
    "备注内容": "Comment",
    "求助受理流程尚未上线": "The help-request procedure is not online yet",
    "开始": "Start",
    "是": "Yes",
    "否": "No",
    "楼栋-单元-房号，例如 3-2-1201": "Building-entrance-room, e.g. 3-2-1201",
    # monthly statistics (issue #7)
    "月度统计": "Monthly statistics",
    "统计明细": "Cases behind a figure",
    "全部服务中心": "All sites",
    "返回月度统计": "Back to the monthly statistics",
    "筛选": "Filters",
    "件": "cases",
    "类别": "Category",
    "受理时间": "Opened",
    "结案时间": "Closed",
    "没有对应的案件": "No cases",
    "本月没有数据": "No data this month",
    "月份": "Month",
    "用时分布的时限目标": "SLA target of the time histogram",
    "导出 Excel": "Export Excel",
    "月度报告（打印）": "Monthly report (print)",
    "统计截至": "As of",
    "案件按受理月份统计；点击数字查看对应案件。": "Cases count in the month they were opened; click a number to see its cases.",
    "图表库 ECharts 未安装：请运行 make assets（需要 npm）。下方表格仍可使用。":
        "The chart library ECharts is not installed: run make assets (needs npm). The tables below still work.",
    "近12个月趋势": "Trend over 12 months",
    "按类别": "By category",
    "用时分布": "Time used",
    "积压账龄": "Backlog by age",
    "月度报告": "Monthly report",
    "案件按受理月份统计": "Cases count in the month they were opened",
    "依据": "per",
    "没有服务中心": "No sites",
    "求助统计与分析": "Help-request statistics and analysis",
    "投诉分析": "Complaint analysis",
    "回访统计": "Follow-up visits",
    "时限达成与积压": "SLA attainment and backlog",
    "案件数": "Cases",
    "已结": "Completed",
    "及时率": "Timeliness rate",
    "未分类": "Uncategorised",
    "未结案件": "Open cases",
    "用时（分钟）": "Time used (min)",
    "任务数": "Tasks",
    "秒": "s",
    "本月受理 {cases} 件，已结 {completed} 件，未结 {open} 件，返工 {reopened} 件；时限及时率 {rate}，响应用时中位数 {p50}。":
        "{cases} cases opened this month: {completed} completed, {open} still open, {reopened} reopened; "
        "timeliness rate {rate}, median response time {p50}.",
    "本月投诉 {total} 件：有效投诉 {valid} 件（有效投诉率 {valid_rate}），协办事项 {assistance} 件，过高要求 {excessive} 件；及时率 = 及时 {met} ÷ 总数 {clocks} × 100% = {rate}。":
        "{total} complaints this month: {valid} valid (valid-complaint rate {valid_rate}), {assistance} assistance, "
        "{excessive} excessive demands; timeliness rate = timely {met} ÷ total {clocks} × 100% = {rate}.",
    "应回访 {decided} 件，已回访 {visited} 件（回访率 {visit_rate}，规定回访率 {policy_rate}）；回访 {visits} 次，满意 {satisfied} 次（满意率 {satisfaction}）。":
        "{decided} cases due a follow-up decision, {visited} visited (visit rate {visit_rate}, policy rate "
        "{policy_rate}); {visits} visits, {satisfied} satisfied (satisfaction {satisfaction}).",
    "时限目标及时 {met} 项、超时 {breached} 项（及时率 {rate}）；月末积压 {backlog} 件，其中超过 30 天 {old} 件。":
        "{met} timed tasks on time, {breached} late (timeliness rate {rate}); {backlog} cases open at month end, "
        "{old} of them older than 30 days.",
    # errors
    "请求有误": "Bad request",
    "没有权限": "Not allowed",
    "找不到": "Not found",
    "状态冲突": "Conflict",
    "系统出错": "Something went wrong",
    "方法不允许": "Method not allowed",
    "返回待办任务": "Back to my tasks",
    "系统出现意外错误，已记录。请稍后再试。": "An unexpected error happened and was logged. Please try again later.",
    "切换语言": "Language",
    # time limits and notifications
    "剩余": "left",
    "计时暂停": "clock paused",
    "通知": "Notifications",
    "我的通知": "My notifications",
    "内容": "Message",
    "没有通知": "No notifications",
    "标为已读": "Mark read",
    "全部标为已读": "Mark all read",
    "已标为已读": "Marked read",
    "已读": "Read",
    "级别": "Level",
    "已通知": "Notified",
    "转给": "Reassigned to",
    # case diagram
    "流程图": "Diagram",
    "案件流程图": "Case diagram",
    "流程图查看器未安装：请运行 make assets（需要 npm）": "The diagram viewer is not installed: run make assets (needs npm)",
    "调用层级": "Call levels",
    "已完成": "Completed",
    "经过的连线": "Flow taken",
    "进行中": "In progress",
    "已取消": "Cancelled",
    "出错": "Failed",
    "超过时限": "Past its time limit",
    "进入被调用的流程": "Open the called process",
    "该环节没有执行记录": "Nothing was recorded for this step",
    "角色": "Role",
    "流程图无法显示": "The diagram could not be shown",
    "点击流程图中的环节查看办理记录": "Click a step on the diagram to see its record",
    "错误信息": "Error message",
    # audit log
    "审计日志": "Audit log",
    "校验哈希链": "Verify the hash chain",
    "起始日期": "From",
    "截止日期": "To",
    "操作人": "Actor",
    "结果": "Outcome",
    "全部": "All",
    "查询": "Search",
    "共": "Total",
    "条": "events",
    "导出 CSV": "Export CSV",
    "导出 JSON": "Export JSON",
    "没有符合条件的记录": "No matching events",
    "上一页": "Previous",
    "下一页": "Next",
    "审计记录完整": "The audit log is intact",
    "已校验": "Verified",
    "审计记录被改动": "The audit log has been altered",
    "第一个断开的记录": "first broken link",
    "完整记录": "Full record",
    "打印": "Print",
    "数据": "Data",
    "哈希": "Hash",
    "日期格式应为 YYYY-MM-DD": "Dates are written YYYY-MM-DD",
    # process library and modeler
    "流程库": "Processes",
    "最新版本": "Latest version",
    "版本数": "Versions",
    "部署人": "Deployed by",
    "仅文档": "documentation only",
    "版本": "Versions",
    "编辑": "Edit",
    "从此版本编辑": "Edit from this version",
    "检查结果": "Findings",
    "编辑流程": "Edit process",
    "基于": "based on",
    "草稿": "draft",
    "保存草稿": "Save draft",
    "部署说明": "Deployment note",
    "部署为新版本": "Deploy as a new version",
    "名称": "Name",
    "表单": "Form",
    "时限": "Time limit",
    "泳道角色": "Lane role",
    "应用": "Apply",
    "草稿已保存": "Draft saved",
    "已部署": "Deployed",
    "未通过检查，已保存为文档版本": "Did not pass the checks; kept as a documentation version",
    "没有问题": "No findings",
    "操作失败": "That did not work",
    "版本对比": "Compare versions",
    "新增": "Added",
    "修改": "Changed",
    "删除": "Removed",
    "与上一版本对比": "Compare with the previous version",
    "请选择目标版本": "Choose the version to move to",
    "已迁移到": "moved to",
    "旧版本上运行中的案件": "Running cases on older versions",
    "只有流程差异允许时才会迁移；不能安全迁移的案件保持原版本并说明原因。":
        "A case moves only when the workflow diff says it is safe; the others stay on their version, with the reason.",
    "迁移到": "Move to",
    "其他流程": "Other procedures",
    "巡查中发现的紧急情况、入伙和交接班直接发起，不经求助受理：":
        "Emergencies found on patrol, move-ins and shift handovers start directly, not through a help request:",
    "发起流程": "Start a procedure",
    "地点或单元，例如 5栋3楼302": "Place or unit, e.g. 5-3-302",
}

# Status and event words used by the engine, in both languages.
EVENT_TYPES = {
    "instance_started": ("案件开始", "Case started"),
    "task_ready": ("任务就绪", "Task ready"),
    "task_claimed": ("任务被认领", "Task claimed"),
    "task_unclaimed": ("任务放弃认领", "Task released"),
    "task_reassigned": ("任务转派", "Task reassigned"),
    "task_completed": ("任务完成", "Task completed"),
    "element_completed": ("环节完成", "Step completed"),
    "element_cancelled": ("环节取消", "Step cancelled"),
    "flow_taken": ("经过连线", "Flow taken"),
    "message_received": ("收到消息", "Message received"),
    "signal_received": ("收到信号", "Signal received"),
    "timer_fired": ("计时到期", "Timer fired"),
    "error": ("出错", "Error"),
    "retried": ("重试", "Retried"),
    "cancelled": ("案件取消", "Case cancelled"),
    "instance_finished": ("案件结束", "Case finished"),
    "sla_paused": ("时限计时暂停", "SLA clock paused"),
    "sla_resumed": ("时限计时恢复", "SLA clock resumed"),
    "sla_breached": ("超过时限", "SLA breached"),
    "sla_escalated": ("时限升级", "SLA escalated"),
    "migrated": ("迁移到新版本", "Moved to a newer version"),
    "comment_added": ("备注", "Comment"),
}

# Statuses as the engine stores them (engine.models InstanceStatus, TaskStatus), for people.
CASE_STATUSES = {
    "running": ("办理中", "In progress"),
    "completed": ("已办结", "Closed"),
    "cancelled": ("已取消", "Cancelled"),
    "error": ("出错待处理", "Error, needs attention"),
}
TASK_STATUSES = {
    "ready": ("待处理", "Open"),
    "claimed": ("已认领", "Claimed"),
    "completed": ("已完成", "Done"),
    "cancelled": ("已取消", "Cancelled"),
}

bp = Blueprint("i18n", __name__)


def current_language() -> str:
    lang = session.get("lang")
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def gettext(text: str) -> str:
    """Translate a Chinese UI string into the current language."""
    return EN.get(text, text) if current_language() == "en" else text


def pick(zh: str | None, en: str | None) -> str | None:
    """Choose between a Chinese and an English text; fall back to the Chinese one."""
    return (en or zh) if current_language() == "en" else (zh or en)


def event_label(event_type: str) -> str:
    return _label(EVENT_TYPES, event_type)


def case_status(status: str) -> str:
    return _label(CASE_STATUSES, status)


def task_status(status: str) -> str:
    return _label(TASK_STATUSES, status)


def _label(words: dict[str, tuple[str, str]], code: str) -> str:
    """The word for an engine code in the current language; the code itself if unknown."""
    zh, en = words.get(code, (code, code))
    return pick(zh, en)


@bp.route("/lang/<code>")
def switch_language(code: str):
    """Remember the chosen language in the session and go back where the user was."""
    if code in LANGUAGES:
        session["lang"] = code
    return redirect(safe_next(request.referrer, "/"))


def safe_next(target: str | None, default: str) -> str:
    """Keep redirects on this site: only a local path is followed."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.netloc and parts.netloc != request.host:
        return default
    path = parts.path or "/"
    if not path.startswith("/") or path.startswith("//"):
        return default
    return path + (f"?{parts.query}" if parts.query else "")
