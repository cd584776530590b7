"""Site policy that varies by site and time: SLA targets, business calendars, follow-up sampling.

Pure functions over policy files and dates. May import: the foundation, `store` and `audit`.
"""
