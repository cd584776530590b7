"""What happened, in the words the audit trail uses: every event type, as one enum.

Each value is what the `event.type` column holds; the enum is a `str`, so stored rows,
JSON and comparisons with plain strings all agree.
"""

from __future__ import annotations

import enum


class EventType(enum.StrEnum):
    INSTANCE_STARTED = "instance_started"
    TASK_READY = "task_ready"
    TASK_CLAIMED = "task_claimed"
    TASK_UNCLAIMED = "task_unclaimed"
    TASK_REASSIGNED = "task_reassigned"
    TASK_COMPLETED = "task_completed"
    ELEMENT_COMPLETED = "element_completed"
    ELEMENT_CANCELLED = "element_cancelled"
    FLOW_TAKEN = "flow_taken"
    MESSAGE_RECEIVED = "message_received"
    SIGNAL_RECEIVED = "signal_received"
    TIMER_FIRED = "timer_fired"
    ERROR = "error"
    RETRIED = "retried"
    CANCELLED = "cancelled"
    INSTANCE_FINISHED = "instance_finished"
    DEPLOYED = "deployed"
    SLA_PAUSED = "sla_paused"
    SLA_RESUMED = "sla_resumed"
    SLA_BREACHED = "sla_breached"
    SLA_ESCALATED = "sla_escalated"
    MIGRATED = "migrated"  # a running case moved to a newer version of its process
    TOKEN_CREATED = "token_created"
    TOKEN_REVOKED = "token_revoked"
    PASSWORD_CHANGED = "password_changed"  # data: the user, and how many of their login sessions it ended
    # Whether a closed case gets a follow-up visit; data is exactly category, rate, draw, sampled
    # (engine/policy/followup.py), the rate as it stood when the draw was made.
    FOLLOWUP_DECIDED = "followup_decided"
    CASE_HANDED_OVER = "case_handed_over"  # the triage opened a case of another procedure; data: process, reference
    COMMENT_ADDED = "comment_added"  # a note on a case (engine/runtime/comments.py); data is {"text": ...}
    # Accounts made to match the bundle's staff.yaml (engine/accounts/staff.py); element_id is the
    # username. A person who left is deactivated, never deleted, so their history keeps naming them.
    STAFF_ADDED = "staff_added"  # data: name, roles, site, password_set
    STAFF_CHANGED = "staff_changed"  # data: {"changes": {field: [old, new]}}; field name, roles, site, active
    STAFF_DEACTIVATED = "staff_deactivated"  # data: name
    PASSWORD_SET = "password_set"  # `estatedesk user password`; data is empty, the hash is never logged
    # A notification's delivery on one channel (engine/scheduling/delivery.py); data names the
    # channel, its type, the people it was for and the attempt. Failed: to be tried again at `retry_at`;
    # dead: no more tries; unconfirmed: the worker stopped mid-send, so it is never sent again.
    NOTIFICATION_SENT = "notification_sent"
    NOTIFICATION_FAILED = "notification_failed"
    NOTIFICATION_DEAD = "notification_dead"
    NOTIFICATION_UNCONFIRMED = "notification_unconfirmed"
    # The duty desk (engine/duty, 004 4.1–4.3). Their instance_id is None; element_id names the roster
    # ("roster:<site>:<month>") or the shift ("shift:<id>") they belong to.
    ROSTER_SAVED = "roster_saved"  # data: site, month, filled
    ROSTER_PUBLISHED = "roster_published"  # data: site, month, shifts
    ROSTER_OVERDUE = "roster_overdue"  # next month has no published roster; data: site, month, level
    DUTY_REQUESTED = "duty_requested"  # leave or swap asked of the supervisor; data: request, reason
    DUTY_REQUEST_DECIDED = "duty_request_decided"  # data: request, approved
    SHIFT_REASSIGNED = "shift_reassigned"  # an approved request's substitute; data: request, previous, substitute
    DUTY_LOG_ENTRY = "duty_log_entry"  # 值班记录; data: happened, done, evidence, and `corrects` (an event id)
    CALL_ANSWERED = "call_answered"  # data: rings, caller, source (phone system or desk)
    SHIFT_CLOSED = "shift_closed"  # the log is read-only from now on; data: the duty report's figures
