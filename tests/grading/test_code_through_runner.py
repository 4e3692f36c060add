"""End to end through the runner, as in the issue: a "model" whose every HumanEval answer
is the frame-walking exploit scored 5 of 5 with the old grader. Now it scores 0, while the
canonical solutions through the same path score 5 of 5."""

from __future__ import annotations

from escape_attacks import ATTACKS

from workbench.backends.base import GenRequest
from workbench.backends.scripted import ScriptedBackend
from workbench.runner import RunSpec, run
from workbench.tasks import get_task

EXPLOIT = ATTACKS["frame_walk_forge_token"]


def _answer_with(solutions: dict[str, str]) -> ScriptedBackend:
    """A scripted model that answers each item's question from ``solutions``."""
    def script(req: GenRequest, choice: int) -> str:
        question = req.messages[-1]["content"]
        name = next(n for n in solutions if f"def {n}(" in question)
        text = f"Here is the function.\n```python\n{solutions[name]}```\n"
        assert len(text.split(" ")) < 4096  # the scripted model cuts at the budget in words
        return text
    return ScriptedBackend(script)


async def test_the_frame_walking_exploit_scores_nothing_end_to_end() -> None:
    items = get_task("humaneval").load()[:5]
    exploit = {p.meta["entry_point"]: EXPLOIT + f"\n\ndef {p.meta['entry_point']}(*a):\n"
               "    return None\n" for p in items}
    honest = {p.meta["entry_point"]: p.meta["prompt"] + p.answer for p in items}
    spec = RunSpec(task="humaneval", technique="cot", budget=4096, limit=5, concurrency=2)
    cheated = await run(spec, _answer_with(exploit))
    assert (cheated.n_samples, cheated.n_correct) == (5, 0)
    solved = await run(spec, _answer_with(honest))
    assert (solved.n_samples, solved.n_correct) == (5, 5)
