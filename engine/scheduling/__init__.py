"""Time inside a step: SLA clocks of human tasks, escalation levels and the notification outbox.

Called by the step transaction; never opens a transaction of its own.
May import: the foundation, `store`, `audit`, `policy`, `definitions`, `accounts`, `stats`.
"""
