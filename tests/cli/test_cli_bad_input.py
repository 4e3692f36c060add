"""Bad input at the command line: a clear message and exit code 2, or a recorded outcome.

Every mistake a user can type must end in one of two ways, never a traceback and never a
hang: an ``error: ...`` line that says what is wrong and what to do (exit 2, before any
model call), or a run that completes and records what happened (exit 0).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_kit import Invoke, read_db

BASE = ("run", "--model", "fake", "--limit", "2", "-q")


def bad_files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """User datasets that are wrong in one way each, with the message fragment expected."""
    d = tmp_path / "data"
    d.mkdir()
    files = {
        "missing columns": ("cols.jsonl", b'{"prompt": "1+1?", "gold": "2"}\n',
                            "lacks column(s) question, answer"),
        "empty": ("empty.csv", b"", "is empty"),
        "blank lines only": ("blank.jsonl", b"\n \n", "is empty"),
        "not UTF-8": ("latin1.csv", "question,answer\nWie viel kostet ein Bär?,5\n"
                      .encode("latin-1"), "is not UTF-8"),
        "duplicated ids": ("dup.jsonl", b'{"id": "a", "question": "1+1?", "answer": "2"}\n'
                           b'{"id": "a", "question": "2+2?", "answer": "4"}\n',
                           "ids must be unique"),
        "broken JSON": ("broken.jsonl", b'{"question": "1+1?", "answer": 2\n',
                        "not valid JSON"),
        "empty answer": ("noanswer.csv", b"question,answer\n1+1?,\n", "empty answer"),
        "wrong suffix": ("data.txt", b"question,answer\n1+1?,2\n", "unknown task"),
    }
    out = {}
    for case, (name, data, expected) in files.items():
        (d / name).write_bytes(data)
        out[case] = (d / name, expected)
    return out


ERRORS = [
    (("--model", "nosuch-model"), "does not recognise the model"),
    (("--task", "nosuch"), "unknown task 'nosuch'"),
    (("--technique", "magic"), "Unknown technique 'magic'"),
    (("--budget", "0"), "budget must be a positive number of tokens"),
    (("--budget", "-5"), "budget must be a positive number of tokens"),
    (("--technique", "sc", "--n", "0"), "n (samples per item) must be an integer from 1"),
    (("--technique", "sc", "--n", "10000"), "must be an integer from 1 to 1000"),
    (("--technique", "refine", "--rounds", "-1"), "rounds must be an integer from 0"),
    (("--limit", "0"), "limit must be positive"),
    (("--temperature", "5"), "temperature must be between 0 and 2"),
    (("--technique", "sc", "--vote", "loudest"), "Unknown vote 'loudest'"),
    (("--set", "nope=1"), "write KNOB=VALUE with one of"),
    (("--set", "confidence=high"), "confidence takes a float"),
    (("--set", "rule=loudest"), "Unknown rule 'loudest'"),
    (("--set", "n=4"), "are RunSpec fields"),
]


@pytest.mark.parametrize(("extra", "message"), ERRORS, ids=[m for _, m in ERRORS])
def test_bad_knobs_fail_before_any_model_call(
        invoke: Invoke, fake_model: tuple[object, Path], extra: tuple[str, ...],
        message: str) -> None:
    server, _ = fake_model
    done = invoke(*BASE, *extra)
    assert done.code == 2, done
    assert "error:" in done.err and message in done.text, done.text
    assert "Traceback" not in done.text
    assert server.attempts == 0  # type: ignore[attr-defined]


def test_malformed_user_datasets_say_which_file_and_what_to_fix(
        invoke: Invoke, tmp_path: Path) -> None:
    for case, (path, message) in bad_files(tmp_path).items():
        done = invoke(*BASE, "--task", str(path))
        assert done.code == 2, (case, done)
        assert message in done.text and "Traceback" not in done.text, (case, done.text)
        if case != "wrong suffix":
            assert path.name in done.text, (case, done.text)


def test_missing_api_key_is_named_not_sent(invoke: Invoke) -> None:
    env: dict[str, str | None] = {"OPENAI_API_KEY": None, "WB_TEST_CLOUD_KEY": None}
    direct = invoke("run", "--model", "openai/gpt-4o-mini", "--limit", "1", "-q", env=env)
    assert direct.code == 2 and "OPENAI_API_KEY" in direct.text, direct
    configured = invoke("run", "--model", "cloud", "--limit", "1", "-q", env=env)
    assert configured.code == 2 and "$WB_TEST_CLOUD_KEY" in configured.text, configured
    for done in (direct, configured):
        assert "Traceback" not in done.text


def test_typos_in_option_values_are_usage_errors(invoke: Invoke) -> None:
    done = invoke(*BASE, "--budget", "lots")
    assert done.code == 2 and "Traceback" not in done.text
    assert "budget" in done.text


def test_a_verifier_that_never_accepts_runs_every_round(invoke: Invoke, tmp_path: Path
                                                       ) -> None:
    done = invoke("run", "--model", "fake", "--technique", "refine", "--rounds", "2",
                  "--limit", "2", "-q", "--db", str(tmp_path / "r.duckdb"))
    assert done.code == 0, done
    rounds, samples, paths = read_db(tmp_path / "r.duckdb", "rounds", "samples", "paths")
    assert rounds.height == 2 * 3  # rounds 0, 1, 2 for each item: nothing cut short
    assert sorted(set(rounds["round"].to_list())) == [0, 1, 2]
    assert not any(rounds["accepted"].to_list())
    assert paths.filter(paths["role"] == "critique").height == 2 * 2
    assert samples["error"].null_count() == 2  # recorded as ordinary, finished samples


def test_a_model_that_never_answers_is_recorded_as_no_answer(
        invoke: Invoke, fake_model: tuple[object, Path], tmp_path: Path) -> None:
    server, _ = fake_model
    server.texts = ["I cannot work this out, sorry."]  # type: ignore[attr-defined]
    done = invoke("run", "--model", "fake", "--technique", "sc", "--n", "3", "--limit", "2",
                  "-q", "--db", str(tmp_path / "u.duckdb"))
    assert done.code == 0, done
    samples, paths, votes = read_db(tmp_path / "u.duckdb", "samples", "paths", "votes")
    assert samples["answer"].to_list() == [None, None]
    assert samples["correct"].to_list() == [False, False]
    assert samples["error"].to_list() == [None, None]  # no fault: the model just never answered
    assert paths.height == 6 and paths["answer"].null_count() == 6
    assert votes["winner"].to_list() == [None, None]


@pytest.mark.parametrize("command", [("run", "--model", "fake", "--limit", "1", "-q"),
                                     ("sql", "select 1"), ("runs",)])
def test_a_trace_file_under_a_file_is_a_clear_error(
        invoke: Invoke, fake_model: tuple[object, Path], tmp_path: Path,
        command: tuple[str, ...]) -> None:
    """``--db`` whose folder cannot exist (a file stands where a folder must be): exit 2,
    the path named, no traceback, no model call (``/etc/passwd/x.duckdb`` in the wild)."""
    server, _ = fake_model
    blocker = tmp_path / "notes.txt"
    blocker.write_text("a file, not a folder")
    db = blocker / "x.duckdb"
    done = invoke(*command, "--db", str(db))
    assert done.code == 2, done
    assert "error:" in done.err and str(db) in " ".join(done.text.split()), done.text
    assert "Traceback" not in done.text
    assert server.attempts == 0  # type: ignore[attr-defined]
    assert blocker.read_text() == "a file, not a folder"  # nothing written over it


def test_set_gives_any_registered_knob_a_typed_value() -> None:
    from workbench.cli.main import parse_knobs

    assert parse_knobs(["confidence=0.8", "rule=esc", "window=2"]) == {
        "confidence": 0.8, "rule": "esc", "window": 2}
