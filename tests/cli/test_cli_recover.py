"""A trace file whose WAL cannot be replayed: every command says to run `workbench
recover`, and `workbench recover` makes the file usable again, keeping the WAL."""

from __future__ import annotations

import shutil
from pathlib import Path

from cli_kit import Done, read_db
from typer.testing import CliRunner

from workbench.cli.main import app
from workbench.store.recorder import record_all
from workbench.store.store import Store
from workbench.store.synthetic import Clock, synthetic_run


def crash_image(tmp_path: Path) -> Path:
    """A copy of a file and its WAL taken mid-session, as a crash would leave them: run
    r1 checkpointed into the main file, run r2 committed only to the WAL."""
    live, crashed = tmp_path / "live.duckdb", tmp_path / "crashed.duckdb"
    clock = Clock()
    with Store.open(live) as store:
        record_all(store, synthetic_run("r1", n_items=2, n_paths=2, clock=clock))
        store.con.execute("CHECKPOINT")
        record_all(store, synthetic_run("r2", n_items=2, n_paths=2, clock=clock,
                                        text="Unique marker text for r2. The answer is 4."))
        shutil.copy(live, crashed)
        shutil.copy(str(live) + ".wal", str(crashed) + ".wal")
    wal = Path(str(crashed) + ".wal")
    data = bytearray(wal.read_bytes())
    at = data.find(b"Unique marker")
    assert at > 0, "expected r2's text in the WAL"
    data[at:at + 13] = b"\xab" * 13  # a disk error inside a committed entry
    wal.write_bytes(bytes(data))
    return crashed


def cli(*args: str) -> Done:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return Done(result.exit_code, result.stdout, result.stderr)


def test_recover_command_on_a_corrupted_wal(tmp_path: Path) -> None:
    db = crash_image(tmp_path)
    broken = cli("sql", "SELECT count(*) FROM runs", "--db", str(db))
    assert broken.code == 2 and "Traceback" not in broken.text
    assert "workbench recover" in broken.text, broken.text

    done = cli("recover", "--db", str(db))
    assert done.code == 0, done.text
    assert "wal_moved_to" in done.out and "unreplayable" in done.out
    moved = list(tmp_path.glob("crashed.duckdb.wal.unreplayable-*"))
    assert len(moved) == 1 and not Path(str(db) + ".wal").exists()  # kept, not deleted

    runs, samples = read_db(db, "runs", "samples")
    assert runs["run_id"].to_list() == ["r1"] and samples.height == 2  # the checkpointed run
    again = cli("sql", "SELECT count(*) AS n FROM samples", "--db", str(db), "--format", "csv")
    assert again.code == 0 and again.out.split() == ["n", "2"]
