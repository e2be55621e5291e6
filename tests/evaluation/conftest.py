from __future__ import annotations

import itertools
import json
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
_counter = itertools.count()


@pytest.fixture
def app_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder that is the cwd and on sys.path, as when the user runs `cairn eval run` in their project."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


@pytest.fixture
def write_module(app_dir: Path) -> Iterator[Callable[[str], str]]:
    """Write Python source as a uniquely named module in app_dir and return its name."""
    created: list[str] = []

    def write(source: str) -> str:
        name = f"evaltarget_{next(_counter)}"
        (app_dir / f"{name}.py").write_text(textwrap.dedent(source), encoding="utf-8")
        created.append(name)
        return name

    yield write
    for name in created:
        sys.modules.pop(name, None)


@pytest.fixture
def write_cases(app_dir: Path) -> Callable[..., Path]:
    def write(cases: list[dict[str, Any]], name: str = "cases.jsonl") -> Path:
        path = app_dir / name
        path.write_text("".join(json.dumps(c) + "\n" for c in cases), encoding="utf-8")
        return path

    return write
