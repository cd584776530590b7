"""EstateDesk's engine: the SOPs as BPMN executed by SpiffWorkflow, persisted with SQLAlchemy.

Pure Python: it never imports the web layer, the CLI, Flask, Werkzeug or Jinja. Its packages are
layers, each importing only the ones below it (checked by tests/unit/test_architecture.py):

    errors, clock, yamlfile   the foundation every layer may use
    store                     database connection, tables, migrations
    audit                     the hash-chained event log, appended to by every layer above
    policy                    site policy: SLA targets, business calendars, follow-up sampling
    definitions               the bundle: diagrams, forms, rules, lint, compiled versions, the sandbox
    accounts                  staff and API tokens
    stats                     KPIs folded from the audit events
    scheduling                SLA clocks, escalation and the notification outbox, kept inside a step
    channels                  the outbox's senders: SMTP email, group robots, an SMS gateway
    runtime                   the step transaction, queries, the timer worker
"""
