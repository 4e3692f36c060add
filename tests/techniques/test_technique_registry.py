"""The technique registry is the one list of techniques: every reader agrees with it,
validation goes through it, and a run builds its technique exactly once."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from pathlib import Path

import pytest

from workbench.backends.scripted import ScriptedBackend
from workbench.errors import WorkbenchError
from workbench.runner import RunSpec, run
from workbench.techniques import PARAMS, REGISTRY, Technique, build, get, names
from workbench.techniques.registry import markdown_table, register

REPO = Path(__file__).resolve().parents[2]


def test_every_registered_technique_builds_with_defaults_and_describes_itself() -> None:
    assert len(names()) >= 7 and len(set(names())) == len(names())
    for name, info in REGISTRY.items():
        technique = build(name)
        assert isinstance(technique, Technique) and technique.name in name
        assert set(info.params) <= set(PARAMS) and "budget" in info.params
        assert info.compute_knob is None or info.compute_knob in info.params


def test_registry_says_which_knobs_apply() -> None:
    assert {n for n, i in REGISTRY.items() if i.applies("n")} >= {"sc", "adaptive-sc",
                                                                 "best-of-n", "sc-refine"}
    assert {n for n, i in REGISTRY.items() if i.applies("rounds")} == {"refine", "sc-refine"}
    assert not get("cot").applies("n") and not get("direct").needs_verifier
    assert RunSpec(technique="sc-refine").effective_verifier() == "local"
    assert RunSpec(technique="sc").effective_verifier() is None
    assert RunSpec(technique="best-of-n", n=5).samples_per_item() == 5
    assert RunSpec(technique="cot", n=5).samples_per_item() == 1


@pytest.mark.parametrize(("name", "knobs", "message"), [
    ("sc", {"n": 0}, "n (samples per item) must be an integer from 1 to 1000"),
    ("sc", {"n": True}, "n (samples per item) must be an integer"),
    ("refine", {"rounds": 21}, "rounds must be an integer from 0 to 20"),
    ("sc-refine", {"vote": "loud"}, "Unknown vote 'loud'"),
    ("adaptive-sc", {"confidence": 1.0}, "confidence must be in (0.5, 1)"),
    ("cot", {"budget": 0}, "budget must be a positive number of tokens"),
    ("cot", {"budget": 2.5}, "budget must be a positive number of tokens"),
    ("sc", {"temperature": 1}, "Unknown technique knob"),
])
def test_validation_goes_through_the_registry(name: str, knobs: dict[str, object],
                                              message: str) -> None:
    with pytest.raises(WorkbenchError, match=re.escape(message)):
        build(name, **knobs)


def test_knobs_that_do_not_apply_are_ignored_not_checked() -> None:
    assert build("cot", n=0, rounds=-1, vote="whatever").describe()["budget_tokens"] == 256


def test_unknown_technique_names_the_closest_and_every_known_one() -> None:
    with pytest.raises(WorkbenchError) as info:
        build("sc-refin")
    text = str(info.value)
    assert "Unknown technique 'sc-refin'" in text and "Did you mean 'sc-refine'" in text
    assert all(n in text for n in names())


def test_a_new_registration_reaches_every_reader_and_a_clash_is_refused() -> None:
    @register("tmp-cot-x2", "test only", params=("budget",), rank=999)
    def _tmp(budget: int) -> Technique:
        return build("cot", budget=2 * budget)
    try:
        assert names()[-1] == "tmp-cot-x2"
        assert build("tmp-cot-x2", budget=10).describe()["budget_tokens"] == 20
        from widgets.controls import Controls
        assert "tmp-cot-x2" in Controls().technique.options
        with pytest.raises(ValueError, match="registered twice"):
            register("cot", "again", params=("budget",), rank=1)(_tmp)
        with pytest.raises(ValueError, match="unknown knobs"):
            register("tmp-y", "bad", params=("nn",), rank=1)(_tmp)
    finally:
        REGISTRY.pop("tmp-cot-x2", None)


def test_the_explorer_picker_lists_every_technique_and_greys_out_unused_knobs() -> None:
    from widgets.controls import Controls

    c = Controls(model="m")
    assert tuple(c.technique.options) == names()  # sc-refine included
    c.technique.value = "cot"
    assert c.n.disabled and c.rounds.disabled and c.verifier.disabled
    assert not c.budget.disabled
    c.technique.value = "sc-refine"
    assert not (c.n.disabled or c.rounds.disabled or c.verifier.disabled)


def test_readme_technique_table_is_the_registry_table() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert markdown_table() in readme, (
        "README's technique table is out of date; paste workbench.techniques.registry."
        "markdown_table():\n" + markdown_table())


def test_no_other_module_lists_technique_names() -> None:
    """A quoted registered name inside a tuple/set/list literal outside the registry's
    modules means a second list crept back (the demo's own experiment is allowed)."""
    quoted = "|".join(re.escape(f'"{n}"') for n in names() if "-" in n)
    found = subprocess.run(["grep", "-rnE", quoted, "workbench", "widgets", "bench"],
                           cwd=REPO, capture_output=True, text=True).stdout.splitlines()
    allowed = ("workbench/techniques/", "workbench/cli/main.py")
    stray = [line for line in found if not line.startswith(allowed)]
    assert stray == [], stray


class Counting:
    """Wraps every registered factory, counting builds."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        for name, info in list(REGISTRY.items()):
            monkeypatch.setitem(REGISTRY, name, dataclasses.replace(
                info, factory=self._wrap(info.factory)))

    def _wrap(self, factory):  # type: ignore[no-untyped-def]
        def counted(**kwargs):  # type: ignore[no-untyped-def]
            self.count += 1
            return factory(**kwargs)
        return counted


async def test_a_run_builds_its_technique_once_through_the_api(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from workbench.api import run_experiment_async

    builds = Counting(monkeypatch)
    backend = ScriptedBackend(lambda req, i: "The answer is 4")
    spec = RunSpec(task="arithmetic", technique="sc", n=2, limit=2, model="m")
    result = await run_experiment_async(spec, db=tmp_path / "t.duckdb", backend=backend)
    assert result.status == "ok" and result.n_samples == 2
    assert builds.count == 1


async def test_run_uses_the_technique_it_is_given(monkeypatch: pytest.MonkeyPatch,
                                                  toy_task) -> None:
    builds = Counting(monkeypatch)
    backend = ScriptedBackend(lambda req, i: "The answer is 2")
    spec = RunSpec(task="toy", technique="cot", limit=1, offset=1)
    await run(spec, backend, [], task=toy_task, technique=build("cot", budget=32))
    assert builds.count == 1  # the one above; run() built none
    await run(spec, backend, [], task=toy_task)
    assert builds.count == 2


def test_cli_imports_the_registry_without_scipy() -> None:
    code = ("import sys, workbench.cli.main; "
            "print('scipy' in sys.modules, len(workbench.cli.main.names()))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                         text=True, check=True).stdout.split()
    assert out[0] == "False" and int(out[1]) == len(names())


async def test_an_explorer_run_builds_its_technique_once(monkeypatch: pytest.MonkeyPatch,
                                                        toy_task) -> None:
    from widgets.explorer import Explorer

    builds = Counting(monkeypatch)
    ex = Explorer(task=toy_task, model="m",
                  backend=ScriptedBackend(lambda req, i: "The answer is 2"))
    ex.controls.auto_run.value = False
    result = await ex.start(RunSpec(task="toy", technique="sc", n=2, items=(1,), model="m"))
    assert result is not None and result.status == "ok" and result.n_correct == 1
    assert builds.count == 1  # was 2 on a first run: api.prepare's check, then run()'s
