"""Staff accounts, their roles and sites, and API tokens.

May import: the foundation, `store`, `audit`, `policy`, `definitions`.
"""
