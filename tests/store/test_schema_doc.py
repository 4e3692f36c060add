"""docs/schema.md stays true: every column is documented and every SQL example runs."""

from __future__ import annotations

import re
from pathlib import Path

from workbench.store.recorder import record_all
from workbench.store.store import Store
from workbench.store.synthetic import synthetic_run

DOC = Path(__file__).resolve().parents[2] / "docs" / "schema.md"


def test_every_column_is_documented(mem_store: Store) -> None:
    text = DOC.read_text()
    columns = mem_store.query("SELECT table_name, column_name FROM information_schema.columns")
    for table, column in columns.iter_rows():
        section = text.split(f"### `{table}`", 1)
        assert len(section) == 2, f"table {table} is not documented"
        body = section[1].split("\n### ", 1)[0]
        assert re.search(rf"\b{column}\b", body), f"{table}.{column} is not documented"


def test_sql_examples_run(mem_store: Store) -> None:
    record_all(mem_store, synthetic_run("r", n_items=3, n_paths=4, rounds=2))
    blocks = re.findall(r"```sql\n(.*?)```", DOC.read_text(), re.S)
    assert len(blocks) >= 5
    for sql in blocks:
        params = ["r", "r-s0"] if "?" in sql else None
        df = mem_store.sql(sql.strip().rstrip(";"), params)
        assert df.height >= 0
    votes = mem_store.sql(blocks[1].strip().rstrip(";"), ["r", "r-s0"])
    assert dict(zip(votes["answer"], votes["count"], strict=True)) == {"4": 3.0, "5": 1.0}
