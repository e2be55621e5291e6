"""Shared paths and helpers for the knowledge tests."""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"
BASE = FIXTURES / "base"
NOTES = FIXTURES / "notes"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


ENTRY = """\
- id: pat-example
  type: pattern
  title: "An example pattern"
  topics: [example]
  summary: "A summary."
  problem: "A problem."
  solution: "A solution."
  source: {title: "A paper", url: "https://arxiv.org/abs/2005.11401"}
"""
