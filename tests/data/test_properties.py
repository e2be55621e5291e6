"""Arbitrary bytes and arbitrary JSON never crash validate, analyze or convert, and convert never
leaves a partial output behind."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workflow.data.analyze import analyze_file
from workflow.data.convert import convert_file
from workflow.data.formats import DatasetFormat
from workflow.data.validate import validate_file
from workflow.errors import CairnError

FORMATS = [f.value for f in DatasetFormat]
KEYS = ["messages", "role", "content", "conversations", "from", "value", "contents", "parts", "text",
        "systemInstruction", "instruction", "input", "output", "history", "prompt", "completion", "chosen",
        "rejected", "preferred_output", "non_preferred_output", "system", "weight", "tool_calls", "name"]
WORDS = ["user", "assistant", "system", "gpt", "human", "model", "tool", "", " ", "hi"]

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.sampled_from(WORDS) | st.text(
    max_size=8)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=5), inner,
                                                                max_size=5),
    max_leaves=25,
)
lines = st.lists(json_values.map(lambda v: json.dumps(v) + "\n") | st.binary(max_size=40), max_size=6)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _write(folder: Path, parts: list[Any]) -> Path:
    path = folder / "in.jsonl"
    path.write_bytes(b"".join(p.encode("utf-8") if isinstance(p, str) else p for p in parts))
    return path


@SETTINGS
@given(parts=lines, fmt=st.sampled_from(FORMATS), strict=st.booleans())
def test_validate_never_crashes_and_counts_every_problem(parts: list[Any], fmt: str, strict: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = _write(Path(tmp), parts)
        before = path.read_bytes()
        report = validate_file(path, fmt, strict=strict, max_tokens=50)
        assert report.summary["errors"] + report.summary["warnings"] == len(report.problems)
        assert report.ok == (not report.errors)
        assert all(p.line >= 0 for p in report.problems)
        assert path.read_bytes() == before


@SETTINGS
@given(parts=lines, fmt=st.sampled_from(FORMATS))
def test_analyze_never_crashes_and_its_counts_add_up(parts: list[Any], fmt: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        analysis, _ = analyze_file(_write(Path(tmp), parts), fmt, label="label")
        assert analysis["valid_examples"] <= analysis["examples"] <= analysis["lines"]
        assert 0 <= analysis["duplicates"]["exact"] < max(1, analysis["valid_examples"])
        assert sum(analysis["labels"]["counts"].values()) == analysis["valid_examples"]


@SETTINGS
@given(parts=lines, source=st.sampled_from(["auto", *FORMATS]), target=st.sampled_from(FORMATS),
       strict=st.booleans())
def test_convert_writes_a_whole_valid_jsonl_file_or_nothing(parts: list[Any], source: str, target: str,
                                                            strict: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = _write(folder, parts)
        out = folder / "out.jsonl"
        try:
            report = convert_file(path, out, source, target, strict=strict)
        except CairnError:
            assert not out.exists()
        else:
            written = out.read_text(encoding="utf-8").splitlines()
            assert len(written) == report.converted >= 1
            assert all(isinstance(json.loads(line), dict) for line in written)
        assert sorted(p.name for p in folder.iterdir()) in (["in.jsonl"], ["in.jsonl", "out.jsonl"])
