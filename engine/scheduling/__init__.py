"""Time inside a step: SLA clocks of human tasks, escalation levels and the notification outbox.

Called by the step transaction, and never opens a transaction of its own there; the
worker's passes (firing escalation levels, delivering the outbox) open their own.
May import: the foundation, `store`, `audit`, `policy`, `definitions`, `accounts`, `stats`.
"""
