"""`cairn train PROJECT`: approval, edits after approval, --spec, the sidecar record and the last run."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.cli_runner import run_cairn
from workflow.store import new_sidecar, read_sidecar, write_sidecar
from workflow.training.runs import last_run_summary

from .helpers import write_spec


@pytest.fixture
def cairn(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CAIRN_OUTPUT", str(tmp_path / "output"))
    monkeypatch.chdir(tmp_path)

    def run(*args: str) -> tuple[int, str, str]:
        return run_cairn(list(args), capsys, monkeypatch)

    return run


def _project(tmp_path: Path, tiny_model: Path, *, approved: bool) -> Path:
    folder = tmp_path / "output" / "demo"
    folder.mkdir(parents=True)
    sidecar = new_sidecar(name="demo", user="ana", workflow={"name": "w", "version": "1", "style": "cairn"},
                          start="5", steps=["5"], phases=["phase_2_training"])
    spec = write_spec(folder / "phase-2-training", tiny_model, name="training-spec.yaml")
    if approved:
        sidecar["training"].update(approved=True, approved_by="ana", approved_at="2026-01-01T00:00:00Z",
                                   spec_sha256=hashlib.sha256(spec.read_bytes()).hexdigest())
    write_sidecar(folder, sidecar)
    return folder


def test_an_unapproved_spec_is_refused_with_how_to_approve_it(cairn: Any, tmp_path: Path, tiny_model: Path) -> None:
    _project(tmp_path, tiny_model, approved=False)
    code, _, err = cairn("train", "demo", "--dry-run")
    assert code == 1
    assert "the training spec of 'demo' is not approved: continue past step 5 in `cairn chat demo`" in err


def test_a_spec_edited_after_approval_is_refused_unless_passed_with_spec(cairn: Any, tmp_path: Path,
                                                                        tiny_model: Path) -> None:
    folder = _project(tmp_path, tiny_model, approved=True)
    spec = folder / "phase-2-training" / "training-spec.yaml"
    spec.write_text(spec.read_text(encoding="utf-8").replace("seed: 42", "seed: 43"), encoding="utf-8")
    code, _, err = cairn("train", "demo", "--dry-run")
    assert code == 1 and "was edited after it was approved (sha256 differs): reopen step 5" in err
    code, out, err = cairn("train", "demo", "--spec", str(spec), "--dry-run")
    assert code == 0, err
    assert "seed: 43" in out


def test_unknown_project_is_a_project_error(cairn: Any) -> None:
    code, _, err = cairn("train", "nope", "--dry-run")
    assert code == 1 and "no project 'nope'" in err


@pytest.mark.slow
def test_an_approved_run_is_recorded_in_the_sidecar_and_shown_as_last_run(cairn: Any, tmp_path: Path,
                                                                          tiny_model: Path) -> None:
    folder = _project(tmp_path, tiny_model, approved=True)
    code, out, err = cairn("train", "demo", "--max-steps", "2", "--no-eval", "--json")
    assert code == 0, err
    result = yaml.safe_load(out)
    sidecar = read_sidecar(folder)
    assert sidecar["training"]["runs"] == [result["run_id"]]
    assert sidecar["phases"]["phase_2_training"] == "trained"
    assert Path(result["run_dir"]).parent == folder / "phase-2-training" / "runs"
    last = last_run_summary(folder)
    assert last is not None
    assert (last["run_id"], last["status"]) == (result["run_id"], "finished")
    assert last["final_train_loss"] == pytest.approx(result["final_train_loss"]) and last["verdict"] is None


def test_last_run_summary_is_none_without_runs(tmp_path: Path) -> None:
    assert last_run_summary(tmp_path) is None
