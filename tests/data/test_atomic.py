from __future__ import annotations

import os
from pathlib import Path

import pytest

from workflow.data.atomic import atomic_files


def test_outputs_appear_only_when_the_block_succeeds(tmp_path: Path) -> None:
    targets = [tmp_path / "a.jsonl", tmp_path / "sub" / "b.jsonl"]
    with pytest.raises(RuntimeError):
        with atomic_files(targets) as (a, b):
            a.write(b"1\n")
            b.write(b"2\n")
            raise RuntimeError("interrupted")
    assert not targets[0].exists() and not targets[1].exists()
    assert list(tmp_path.rglob("*.tmp")) == []
    with atomic_files(targets) as (a, b):
        a.write(b"1\n")
        b.write(b"2\n")
    assert targets[0].read_bytes() == b"1\n" and targets[1].read_bytes() == b"2\n"
    mask = os.umask(0)
    os.umask(mask)
    assert targets[0].stat().st_mode & 0o777 == 0o666 & ~mask


def test_an_existing_output_is_kept_until_the_new_one_is_complete(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    target.write_bytes(b"old\n")
    with pytest.raises(KeyboardInterrupt):
        with atomic_files([target]) as (handle,):
            handle.write(b"new\n")
            raise KeyboardInterrupt
    assert target.read_bytes() == b"old\n"
