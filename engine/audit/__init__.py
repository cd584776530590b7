"""The audit trail: append-only hash-chained events, and what auditors read of them.

May import: the foundation, `store`, `policy`, `definitions`, `accounts`.
"""
