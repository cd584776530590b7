"""The runtime: every change to a case is one step, and every step one transaction.

Holds the step (`step.Runtime`), the rows it reads and writes, what it derives from
SpiffWorkflow's task states, read-only queries, and the timer worker.
May import: every engine layer below it.
"""
