"""Assemble the program that tests one HumanEval completion.

Why this is fiddly: models answer "complete this function" in two shapes. Some return the
whole function (often in a ```python block, sometimes with extra imports or helpers),
others only the body that continues the prompt, sometimes without its indentation. Both
must be turned into the same kind of program: the prompt's imports and helper functions,
the candidate's function, the benchmark's ``check`` and a call to it.
"""

from __future__ import annotations

import re
import textwrap

from workbench.grading.extract import extract_code


def defines_function(code: str, name: str) -> bool:
    """Whether ``code`` contains ``def name(`` at any indentation."""
    return re.search(rf"^\s*(?:async\s+)?def\s+{re.escape(name)}\s*\(", code, re.MULTILINE) is not None


def _indent_body(body: str) -> str:
    """Indent a function body that the model wrote flush-left."""
    first = next((line for line in body.splitlines() if line.strip()), "")
    if first.startswith((" ", "\t")):
        return body
    return textwrap.indent(body, "    ")


def candidate_source(prompt: str, completion: str, entry_point: str) -> str:
    """The prompt plus the candidate's code, as one module defining ``entry_point``.

    Whole function: the prompt stays in front (its docstring-only function is valid Python
    and its imports and helpers are needed), and the candidate's ``def`` replaces it.
    Body only: the body is appended to the prompt, indented if necessary.
    """
    code = extract_code(completion) or ""
    if defines_function(code, entry_point):
        return prompt.rstrip() + "\n\n\n" + textwrap.dedent(code).strip("\n") + "\n"
    body = _indent_body(code.strip("\n")) if code.strip() else "    pass"
    return prompt + body + "\n"


def humaneval_program(prompt: str, completion: str, test: str, entry_point: str) -> str:
    """Complete, runnable test program: candidate source + ``test`` + ``check(entry_point)``."""
    source = candidate_source(prompt, completion, entry_point)
    return f"{source}\n\n{test}\n\ncheck({entry_point})\n"


def tests_source(prompt: str, test: str) -> str:
    """What the checker sandbox loads: the benchmark's prompt (its imports and helpers,
    e.g. HumanEval/32's ``poly``) and its ``check``. The prompt's own stub of the entry
    point is harmless: ``check`` is handed the remote candidate, never the stub."""
    for head in (prompt, prompt + "    pass\n", ""):
        try:
            compile(head, "<prompt>", "exec")
        except SyntaxError:
            continue
        return f"{head}\n\n{test}\n"
    return f"{test}\n"
