"""What a person reads: the terminal's tables and progress (``terminal``), a stored run read back
for ``transfer study show`` (``run_view``), and the verdicts report (``report``) with its HTML
page (``report_page``).

Imports ``contracts`` and ``tracking``; only ``cli`` imports it.
"""
