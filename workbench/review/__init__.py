"""Reviewing grades: the audit of paths worth a human look, human overrides, and
model-free re-grading with the current grader.

``audit(store, run_id)`` -> polars frame (``AuditView(frame)`` / ``audit_html(frame)`` to
show it); ``override(store, run_id, item, correct=..., why=...)`` appends a verdict;
``regrade_run(store, run_id)`` appends a re-grading. Every analysis reads grades through
the store's ``graded_paths`` / ``graded_samples`` views (:mod:`workbench.store.grades`).
"""

from workbench.review.audit import AuditView, audit, audit_frame, audit_html
from workbench.review.regrade import RegradeReport, regrade_run
from workbench.store.grades import add_override as override
from workbench.store.grades import overrides, regrades

__all__ = ["AuditView", "RegradeReport", "audit", "audit_frame", "audit_html", "override",
           "overrides", "regrade_run", "regrades"]
