"""The process bundle: BPMN diagrams, forms, rules, their lint, and versions compiled to run.

Also the sandbox every diagram expression runs in. May import: the foundation, `store`, `audit`, `policy`.
"""
