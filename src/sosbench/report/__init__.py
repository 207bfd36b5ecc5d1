"""The HTML report: a sortable leaderboard, per-benchmark breakdown, factor bars with CIs, judge-versus-factor
scatter plots and correlation heatmaps, in one self-contained file (figures also as PNG on request)."""

from sosbench.report._figures import Figure, all_figures
from sosbench.report._html import render_html, write_html_report
from sosbench.report._model import ReportData, Row, build_report_data, read_audit, read_judge_scores

__all__ = [
    "Figure",
    "ReportData",
    "Row",
    "all_figures",
    "build_report_data",
    "read_audit",
    "read_judge_scores",
    "render_html",
    "write_html_report",
]
