"""Where readers find the effective grades: the names of the store's graded views.

The store owns the views (:mod:`workbench.store.grades`, created by a migration); analysis
and widgets read them. Both sides import the names from here, so analysis stays free of
the store package and nobody spells a view name twice.
"""

from __future__ import annotations

GRADED_PATHS = "graded_paths"
GRADED_SAMPLES = "graded_samples"

HAS_VIEWS_SQL = ("SELECT count(*) AS n FROM information_schema.tables "
                 f"WHERE table_name IN ('{GRADED_PATHS}', '{GRADED_SAMPLES}')")
"""One row, ``n`` = 2 when the database has the graded views (schema with migration 6)."""

_GRADED_ROUNDS = (f"(SELECT r.* REPLACE ("
                  "CASE WHEN g.grade_source IS NOT NULL AND g.grade_source <> 'stored' "
                  "THEN g.correct ELSE r.correct END AS correct, "
                  "CASE WHEN g.regrade_id IS NOT NULL THEN g.answer ELSE r.answer END AS answer) "
                  f"FROM rounds r LEFT JOIN {GRADED_PATHS} g "
                  "ON g.run_id = r.run_id AND g.path_id = r.path_id) AS rounds")


def graded_sources(has_views: bool) -> dict[str, str]:
    """What to put after FROM to read samples, paths and rounds with the effective grade
    (the raw tables for a database without the views, e.g. an old file opened raw)."""
    if not has_views:
        return {"samples": "samples", "paths": "paths", "rounds": "rounds"}
    return {"samples": GRADED_SAMPLES, "paths": GRADED_PATHS, "rounds": _GRADED_ROUNDS}
