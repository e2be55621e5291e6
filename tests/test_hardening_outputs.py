"""Outputs of `cairn tiny-model` and the `cairn data` commands appear whole or not at all: a failure,
a Ctrl-C or a kill leaves no half-written file or folder, and what a killed writer left behind is
removed by the next write of the same output."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli_runner import run_cairn
from tests.data.conftest import dump
from tests.data.corpus import corpus
from workflow.data import atomic
from workflow.data.atomic import atomic_files, atomic_folder
from workflow.errors import DataError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def data(tmp_path: Path) -> Path:
    rows, _ = corpus(60)
    path = tmp_path / "data.jsonl"
    path.write_text(dump(rows), encoding="utf-8")
    return path


def interrupted_after(lines: int, real: Any) -> Any:
    """A `read_lines` that yields `lines` lines and then raises KeyboardInterrupt (a Ctrl-C mid-write)."""

    def read(path: Path, advance: Any = None) -> Iterator[Any]:
        for n, line in enumerate(real(path)):
            if n == lines:
                raise KeyboardInterrupt
            yield line

    return read


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.name.endswith(".tmp"))


def test_a_ctrl_c_during_dedup_leaves_neither_the_output_nor_its_report(
        data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from workflow.data import dedup

    monkeypatch.setattr(dedup, "read_lines", interrupted_after(10, dedup.read_lines))
    with pytest.raises(KeyboardInterrupt):
        dedup.dedup_file(data, tmp_path / "clean.jsonl", jobs=1)
    assert not (tmp_path / "clean.jsonl").exists() and not (tmp_path / "clean.dedup-report.json").exists()
    assert leftovers(tmp_path) == []


def test_a_ctrl_c_during_split_leaves_no_split_file_and_no_report(
        data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from workflow.data import split

    monkeypatch.setattr(split, "read_lines", interrupted_after(30, split.read_lines))
    with pytest.raises(KeyboardInterrupt):
        split.split_file(data, tmp_path / "s", jobs=1)
    assert not (tmp_path / "s").exists(), "the folder the split created is removed too"
    monkeypatch.undo()
    report = split.split_file(data, tmp_path / "s", jobs=1)
    on_disk = json.loads((tmp_path / "s" / "split-report.json").read_text(encoding="utf-8"))
    assert on_disk["counts"] == report["counts"] and sum(report["counts"].values()) == len(
        data.read_text(encoding="utf-8").splitlines())


def test_a_failing_chart_leaves_none_of_the_new_plots(
        data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from matplotlib.figure import Figure

    real = Figure.savefig
    calls: list[int] = []

    def savefig(self: Figure, *args: Any, **kwargs: Any) -> None:
        calls.append(1)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        real(self, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", savefig)
    code, _, err = run_cairn(["data", "analyze", str(data), "--plots", str(tmp_path / "plots")], capsys, monkeypatch)
    assert code == 1 and err.startswith("error: cannot write") and "Traceback" not in err
    assert not (tmp_path / "plots").exists()


def test_ctrl_c_during_the_final_renames_is_held_until_every_output_is_in_place(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = os.replace

    def replace(src: str, dst: Any) -> None:
        if not Path(dst).name.startswith("."):
            signal.raise_signal(signal.SIGINT)  # Ctrl-C arrives between the renames of the set
        real(src, dst)

    monkeypatch.setattr(atomic.os, "replace", replace)
    targets = [tmp_path / "train.jsonl", tmp_path / "split-report.json"]
    with pytest.raises(KeyboardInterrupt):
        with atomic_files(targets) as (a, b):
            a.write(b"1\n")
            b.write(b"{}\n")
    assert [t.read_bytes() for t in targets] == [b"1\n", b"{}\n"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_killed_data_command_leaves_a_temp_file_that_the_next_write_removes(
        data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "review.jsonl"
    script = ("import os, signal, sys\nfrom pathlib import Path\nfrom workflow.data.atomic import atomic_file\n"
              "with atomic_file(Path(sys.argv[1])) as handle:\n"
              "    handle.write(b'half a line'); handle.flush(); os.kill(os.getpid(), signal.SIGKILL)\n")
    killed = subprocess.run([sys.executable, "-c", script, str(out)], cwd=ROOT, timeout=60, check=False)
    assert killed.returncode == -signal.SIGKILL
    assert not out.exists() and len(leftovers(tmp_path)) == 1
    mine = tmp_path / f".review.jsonl.{os.getpid()}.abcd1234.tmp"  # a live writer's temp file is left alone
    mine.write_bytes(b"in progress")
    code, out_text, _ = run_cairn(["data", "sample", str(data), "--n", "5", "-o", str(out)], capsys, monkeypatch)
    assert code == 0 and "sampled 5" in out_text
    assert len(out.read_text(encoding="utf-8").splitlines()) == 5
    assert leftovers(tmp_path) == [mine.name]


def test_an_output_name_too_long_for_a_temp_name_still_writes(tmp_path: Path) -> None:
    target = tmp_path / ("x" * 240 + ".jsonl")
    with atomic_files([target]) as (handle,):
        handle.write(b"ok\n")
    assert target.read_bytes() == b"ok\n" and leftovers(tmp_path) == []


def test_a_folder_output_appears_whole_and_replaces_only_an_earlier_output(tmp_path: Path) -> None:
    target = tmp_path / "model"
    with pytest.raises(KeyboardInterrupt):
        with atomic_folder(target) as folder:
            (folder / "config.json").write_text("{}", encoding="utf-8")
            raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []
    with atomic_folder(target) as folder:
        (folder / "config.json").write_text("1", encoding="utf-8")
    with atomic_folder(target) as folder:  # an earlier output of the same names is replaced
        (folder / "config.json").write_text("2", encoding="utf-8")
    assert (target / "config.json").read_text(encoding="utf-8") == "2" and leftovers(tmp_path) == []
    (target / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(DataError, match=r"already holds other files \(notes.txt\)"):
        with atomic_folder(target) as folder:
            (folder / "config.json").write_text("3", encoding="utf-8")
    assert (target / "notes.txt").read_text(encoding="utf-8") == "mine" and leftovers(tmp_path) == []


def test_tiny_model_interrupted_before_its_weights_leaves_no_folder(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("transformers")
    from transformers import Qwen2ForCausalLM

    from workflow.training.tiny import build_tiny_model

    def interrupted(self: Any, *args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(Qwen2ForCausalLM, "save_pretrained", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build_tiny_model(tmp_path / "tiny", hidden=16, layers=1)
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    model = build_tiny_model(tmp_path / "tiny", hidden=16, layers=1)
    assert (model / "model.safetensors").is_file() and (model / "tokenizer.json").is_file()
    build_tiny_model(model, hidden=16, layers=1, seed=1)  # an earlier tiny model is rebuilt in place
    assert (model / "model.safetensors").is_file() and leftovers(tmp_path) == []


def test_tiny_model_refuses_a_folder_of_other_files_and_leaves_it_untouched(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("transformers")
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "thesis.md").write_text("years of work", encoding="utf-8")
    code, _, err = run_cairn(["tiny-model", str(tmp_path / "home"), "--hidden", "16", "--layers", "1"],
                             capsys, monkeypatch)
    assert code == 1 and "already holds other files (thesis.md)" in err and "Traceback" not in err
    assert [p.name for p in (tmp_path / "home").iterdir()] == ["thesis.md"] and leftovers(tmp_path) == []
