"""Figures and the self-contained HTML report."""

from genlab.report._html import build_report, load_runs, render_report
from genlab.report._reproduce import ReproduceResult, reproduce

__all__ = ["build_report", "load_runs", "render_report", "reproduce", "ReproduceResult"]
