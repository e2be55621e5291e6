"""The cache key covers every file a target can read, in the layouts LangGraph apps use:
a regular package, a wrapper module beside src/, a namespace package without __init__.py,
a shell command reading prompt files, and files named with --watch. Runs go through
`cairn eval run` in process; `cached` in summary.json says whether the cache answered."""

from __future__ import annotations

import json
import shlex
import sys
import textwrap
from pathlib import Path

import pytest

from tests.cli_runner import run_cairn
from workflow.evaluation.fingerprint import compute_fingerprint, import_root, project_root


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")


def _cached(app: Path, target: str, capsys, monkeypatch, *extra: str) -> int:
    """Run two cases twice each against `target`; return how many outputs came from the cache."""
    for name in [m for m in sys.modules if m.split(".")[0] in {"agent", "research", "wrapper", "bot"}]:
        sys.modules.pop(name)
    run = app / "runs" / f"r{len(list((app / 'runs').glob('r*'))) if (app / 'runs').is_dir() else 0}"
    code, out, err = run_cairn(["--output", str(app / "output"), "eval", "run", "-t", target, "-c",
                                str(app / "cases.jsonl"), "-n", "2", "-o", str(run), "--json", *extra],
                               capsys, monkeypatch, stdin="")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["errors"] == 0
    return int(summary["cached"])


@pytest.fixture
def app(app_dir: Path) -> Path:
    (app_dir / "cases.jsonl").write_text('{"id": 1, "input": "a"}\n{"id": 2, "input": "b"}\n', encoding="utf-8")
    return app_dir


def test_a_regular_package_target_misses_the_cache_after_its_prompt_file_changes(app: Path, capsys,
                                                                                  monkeypatch) -> None:
    _write(app, {"bot/__init__.py": "", "bot/prompt.txt": "Hello",
                 "bot/app.py": """
                     from pathlib import Path
                     def reply(x):
                         return (Path(__file__).parent / "prompt.txt").read_text(encoding="utf-8") + x
                 """})
    assert _cached(app, "bot.app:reply", capsys, monkeypatch) == 0
    assert _cached(app, "bot.app:reply", capsys, monkeypatch) == 4
    (app / "bot" / "prompt.txt").write_text("Goodbye", encoding="utf-8")
    assert _cached(app, "bot.app:reply", capsys, monkeypatch) == 0


def test_a_wrapper_module_beside_src_misses_the_cache_after_a_prompt_in_src_changes(app: Path, capsys,
                                                                                     monkeypatch) -> None:
    # The langgraph-template layout: the graph in src/agent/, a small wrapper at the project root.
    _write(app, {"pyproject.toml": "[project]\nname = 'agent'\n", "src/agent/__init__.py": "",
                 "src/agent/prompts.py": "SYSTEM = 'You are terse.'\n",
                 "src/agent/graph.py": "from agent.prompts import SYSTEM\n\ndef run(x):\n    return SYSTEM + x\n",
                 "wrapper.py": """
                     import sys
                     from pathlib import Path
                     sys.path.insert(0, str(Path(__file__).parent / "src"))
                     from agent.graph import run
                 """})
    assert _cached(app, "wrapper:run", capsys, monkeypatch) == 0
    assert _cached(app, "wrapper:run", capsys, monkeypatch) == 4
    (app / "src" / "agent" / "prompts.py").write_text("SYSTEM = 'You are chatty.'\n", encoding="utf-8")
    assert _cached(app, "wrapper:run", capsys, monkeypatch) == 0


def test_a_namespace_package_without_init_misses_the_cache_after_its_prompts_change(app: Path, capsys,
                                                                                   monkeypatch) -> None:
    # open_deep_research's layout: modules in a folder with no __init__.py and no project marker above.
    _write(app, {"research/prompts.py": "PLAN = 'Plan first.'\n",
                 "research/graph.py": "from research.prompts import PLAN\n\ndef run(x):\n    return PLAN + x\n"})
    assert project_root(app) is None
    assert import_root(app / "research" / "graph.py", "research.graph") == app
    assert _cached(app, "research.graph:run", capsys, monkeypatch) == 0
    assert _cached(app, "research.graph:run", capsys, monkeypatch) == 4
    (app / "research" / "prompts.py").write_text("PLAN = 'Search first.'\n", encoding="utf-8")
    assert _cached(app, "research.graph:run", capsys, monkeypatch) == 0


def test_a_shell_target_misses_the_cache_after_a_prompt_file_it_reads_changes(app: Path, capsys,
                                                                              monkeypatch) -> None:
    _write(app, {"app/prompts/system.txt": "Be brief.", "app/main.py": """
                     import json, pathlib, sys
                     case = json.load(sys.stdin)
                     print(pathlib.Path("app/prompts/system.txt").read_text(encoding="utf-8") + case["input"])
                 """})
    target = f"{shlex.quote(sys.executable)} app/main.py"
    assert _cached(app, target, capsys, monkeypatch) == 0
    assert _cached(app, target, capsys, monkeypatch) == 4
    (app / "app" / "prompts" / "system.txt").write_text("Be thorough.", encoding="utf-8")
    assert _cached(app, target, capsys, monkeypatch) == 0


def test_files_outside_the_tree_key_the_cache_when_watched(app: Path, tmp_path_factory, capsys,
                                                           monkeypatch) -> None:
    shared = tmp_path_factory.mktemp("shared") / "tone.txt"
    shared.write_text("warm", encoding="utf-8")
    _write(app, {"bot/__init__.py": "", "bot/app.py": "def reply(x):\n    return x\n"})
    watch = ["--watch", str(shared)]
    assert _cached(app, "bot.app:reply", capsys, monkeypatch, *watch) == 0
    assert _cached(app, "bot.app:reply", capsys, monkeypatch, *watch) == 4
    shared.write_text("cold", encoding="utf-8")
    assert _cached(app, "bot.app:reply", capsys, monkeypatch, *watch) == 0


def test_run_folders_cases_edits_and_logs_in_the_tree_do_not_invalidate_the_cache(app: Path, capsys,
                                                                                 monkeypatch) -> None:
    _write(app, {"bot/__init__.py": "", "bot/app.py": "def reply(x):\n    return x\n"})
    assert _cached(app, "bot.app:reply", capsys, monkeypatch) == 0  # wrote runs/r0 inside the tree
    (app / "bot" / "calls.log").write_text("one call\n", encoding="utf-8")
    with (app / "cases.jsonl").open("a", encoding="utf-8") as fh:
        fh.write("// a comment added to the cases file\n")
    assert _cached(app, "bot.app:reply", capsys, monkeypatch) == 4


def test_a_tree_too_large_to_hash_runs_without_the_cache_and_says_so(app: Path, capsys, monkeypatch) -> None:
    from workflow.evaluation import fingerprint

    _write(app, {"bot/__init__.py": "", "bot/app.py": "def reply(x):\n    return x\n", "bot/data.txt": "x"})
    monkeypatch.setattr(fingerprint, "MAX_FILES", 2)
    assert not compute_fingerprint("t", [app], extra_paths=[], env_names=[]).complete
    for name in [m for m in sys.modules if m.split(".")[0] == "bot"]:
        sys.modules.pop(name)
    code, out, err = run_cairn(["--output", str(app / "output"), "eval", "run", "-t", "bot.app:reply", "-c",
                                str(app / "cases.jsonl"), "-n", "1", "-o", str(app / "big")], capsys, monkeypatch,
                               stdin="")
    assert code == 0 and "running without the cache" in err
