"""The cost estimate: parameter counts, token counting, FLOPs rules, GPU hours and the API comparison."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from workflow.config import CostConfig
from workflow.training.estimate import CHARS_PER_TOKEN, GPU_SPECS, estimate_cost, estimate_markdown
from workflow.training.params import count_params
from workflow.training.spec import spec_from_answers

from .helpers import PAIRS

COSTS = CostConfig(gpu_hourly_usd={"H100": 2.0, "L4": 0.5}, utilisation=0.5, api_usd_per_1k_input_tokens=0.001,
                   api_usd_per_1k_output_tokens=0.002, tokens_per_request_in=1000, tokens_per_request_out=500)


def _spec(tmp_path: Path, lines: list[str], **answers: object):  # type: ignore[no-untyped-def]
    train = tmp_path / "train.jsonl"
    train.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return spec_from_answers({"base_model": "Qwen/Qwen2.5-7B-Instruct", "train_file": str(train),
                              "val_fraction": 0.0, "test_fraction": 0.0, "early_stopping_patience": 0,
                              "num_epochs": 2, **answers})


def test_tokens_are_characters_over_four_plus_chat_markup_times_epochs(tmp_path: Path) -> None:
    line = json.dumps({"messages": [{"role": "user", "content": "a" * 40}, {"role": "assistant", "content": "b" * 8}]})
    est = estimate_cost(_spec(tmp_path, [line] * 10), costs=COSTS)
    per_example = 40 / CHARS_PER_TOKEN + 8 / CHARS_PER_TOKEN + 2 * 4
    assert est.train_tokens == int(10 * per_example * 2)


def test_lora_flops_are_two_thirds_of_full_fine_tuning(tmp_path: Path) -> None:
    line = json.dumps({"text": "x" * 400})
    lora = estimate_cost(_spec(tmp_path, [line], dataset_format="text"), costs=COSTS)
    full = estimate_cost(_spec(tmp_path, [line], dataset_format="text", adapter="none"), costs=COSTS)
    assert lora.params == 7_615_616_512
    assert lora.flops == pytest.approx(4 * lora.params * 200)
    assert full.flops == pytest.approx(6 * full.params * 200)  # type: ignore[operator]


def test_gpu_hours_follow_peak_flops_and_utilisation_and_cost_follows_price(tmp_path: Path) -> None:
    est = estimate_cost(_spec(tmp_path, [json.dumps({"text": "x" * 4000})], dataset_format="text"), costs=COSTS,
                        params=1_000_000_000)
    h100 = next(g for g in est.gpus if g.gpu == "H100")
    expected_hours = est.flops / (GPU_SPECS["H100"][0] * 1e12 * 0.5) / 3600  # type: ignore[operator]
    assert h100.hours == pytest.approx(expected_hours)
    assert h100.cost_usd == pytest.approx(expected_hours * 2.0)


def test_dpo_adds_a_reference_forward_pass_on_both_answers(tmp_path: Path) -> None:
    spec = _spec(tmp_path, [], method="dpo", dataset_format="preference", train_file=str(PAIRS))
    est = estimate_cost(spec, costs=COSTS, params=100)
    assert est.flops == pytest.approx(100 * 6.0 * est.train_tokens)  # type: ignore[operator]


def test_twelve_month_comparison_uses_config_prices_and_volume(tmp_path: Path) -> None:
    spec = _spec(tmp_path, [json.dumps({"text": "hello"})], dataset_format="text")
    est = estimate_cost(spec, costs=COSTS, monthly_requests=10_000)
    assert est.api_usd_per_request == pytest.approx(0.001 + 0.001)
    assert est.api_12_months_usd == pytest.approx(0.002 * 10_000 * 12)
    assert est.serving_gpu == "L4"  # the cheapest card that holds 7.6B bf16 weights
    text = estimate_markdown(spec, costs=COSTS, monthly_requests=10_000)
    assert "12 months at 10,000 requests a month" in text and "$240.00" in text


def test_unknown_volume_and_unreadable_data_become_notes_not_errors(tmp_path: Path) -> None:
    spec = spec_from_answers({"base_model": "someone/unknown-model", "train_file": str(tmp_path / "absent.jsonl")})
    text = estimate_markdown(spec, costs=COSTS)
    assert "Parameters (N): unknown (not a local model and not in the table; pass --params N)" in text
    assert f"cannot read {tmp_path / 'absent.jsonl'} yet" in text
    assert "Request volume unknown" in text and "--monthly-requests N" in text


def test_params_are_counted_exactly_from_a_local_models_safetensors(tiny_model: Path) -> None:
    count = count_params(str(tiny_model))
    import torch  # noqa: F401 - only to read the truth from the real model
    from transformers import AutoModelForCausalLM

    truth = sum(p.numel() for p in AutoModelForCausalLM.from_pretrained(tiny_model).parameters())
    assert count.params == truth and "safetensors" in count.source


def test_params_from_config_json_when_there_are_no_weights(tmp_path: Path) -> None:
    config = {"hidden_size": 64, "num_hidden_layers": 2, "vocab_size": 1000, "intermediate_size": 128,
              "num_attention_heads": 4, "num_key_value_heads": 4, "tie_word_embeddings": True}
    (tmp_path / "config.json").write_text(json.dumps(config), encoding="utf-8")
    count = count_params(str(tmp_path))
    attention, mlp = 4 * 64 * 64, 3 * 64 * 128
    assert count.params == 1000 * 64 + 2 * (attention + mlp + 2 * 64) + 64


def test_table_knows_instruct_variants_and_params_option_wins() -> None:
    assert count_params("meta-llama/Llama-3.1-8B-Instruct").params == 8_030_261_248
    assert count_params("google/gemma-2-2b-it").params == 2_614_341_888
    assert count_params("Qwen/Qwen2.5-0.5B-Instruct", override=123).params == 123


def test_markdown_states_the_lora_assumption_and_the_utilisation(tmp_path: Path) -> None:
    spec = _spec(tmp_path, [json.dumps({"text": "hello there"})], dataset_format="text")
    text = estimate_markdown(spec, costs=COSTS)
    assert "≈ 2/3 of full fine-tuning" in text and "50% model FLOPs utilisation" in text
    assert "| H100 | 989 |" in text and not math.isnan(estimate_cost(spec, costs=COSTS).flops or math.nan)


def test_qlora_plans_with_recomputed_activations_and_at_most_twenty_percent_utilisation(tmp_path: Path) -> None:
    line = json.dumps({"text": "x" * 400})
    spec = _spec(tmp_path, [line], dataset_format="text", adapter="qlora")
    est = estimate_cost(spec, costs=COSTS)
    assert est.flops == pytest.approx(6 * est.params * 200)  # type: ignore[operator]
    assert est.utilisation == 0.20  # the configured 0.5 is capped
    h100 = next(g for g in est.gpus if g.gpu == "H100")
    assert h100.hours == pytest.approx(est.flops / (GPU_SPECS["H100"][0] * 1e12 * 0.20) / 3600)  # type: ignore[operator]
    text = estimate_markdown(spec, costs=COSTS)
    assert "QLoRA: ≈ 6 × N × tokens" in text and "20% model FLOPs utilisation" in text and "capped for QLoRA" in text
