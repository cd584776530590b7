"""The statistics pages: the monthly dashboard, the cases behind a number, exports and the report.

May import: `engine` and the web package's shared modules, never the other way round.
"""
