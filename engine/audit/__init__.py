"""The audit trail: append-only hash-chained events, and the auditors' search over them.

Every layer above appends to it (deploys, tokens, steps). May import: the foundation and `store`.
"""
