"""The duty desk (值班, 004 4.1–4.3): the monthly roster, leave and swaps, who is on duty and
on call, the duty log in the audit chain, handovers and the supervisor's daily check that the
roster starts, and the shift's duty report. It sits above the runtime, whose steps it drives."""
