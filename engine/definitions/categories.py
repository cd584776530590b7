"""The kinds of help request (PROCEDURES.md a–g: 000 四.1(1), 001/第6篇 4.1, 002 4.1.1),
in both languages.

The intake form offers them, a case keeps its kind as `category`, and the statistics
count cases by it: one list for all three.
"""

from __future__ import annotations

# id -> (zh, en); help_request routes each kind to its procedure.
CATEGORIES = {
    "emergency_patient": ("急救病人", "Emergency patient"),
    "repair": ("报修", "Repair"),
    "complaint": ("投诉", "Complaint"),
    "consultation": ("咨询", "Consultation"),
    "security_incident": ("治安事件", "Security incident"),
    "disaster": ("灾害事件", "Disaster"),
    "other": ("其他", "Other"),
}
