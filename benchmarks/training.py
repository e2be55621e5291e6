"""Overhead of `cairn train --no-eval` against a plain TRL script doing the same work.

Both processes load the same tiny local model, train LoRA SFT with the same SFTConfig and
LoraConfig on the same rows, and save the adapter. Each is timed from process start until its
adapter file exists (the goal: cairn / plain <= 1.05x), and also until the process exits
(cairn then draws loss.png and writes report.md). Runs alternate, and medians are compared.
Both get one CPU thread (OMP_NUM_THREADS=1), which is what cairn picks for tiny models.

    python benchmarks/training.py [--repeats 5] [--steps 60] [--hidden 64] [--layers 2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
TRAIN = ROOT / "examples" / "data" / "tickets-train.jsonl"

PLAIN = '''
import json, sys
from datasets import Dataset
from peft import LoraConfig
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import SFTConfig, SFTTrainer

model_dir, train_file, out_dir, args_file = sys.argv[1:5]
args = json.load(open(args_file))
tokenizer = AutoTokenizer.from_pretrained(model_dir)
model = AutoModelForCausalLM.from_pretrained(model_dir)
rows = [{"messages": json.loads(line)["messages"]} for line in open(train_file) if line.strip()]
trainer = SFTTrainer(model=model, args=SFTConfig(**args["trl"]), train_dataset=Dataset.from_list(rows),
                     processing_class=tokenizer, peft_config=LoraConfig(**args["peft"]))
trainer.train()
trainer.model.save_pretrained(out_dir + "/adapter")
'''


def _timed(cmd: list[str], adapter_glob: tuple[Path, str], env: dict[str, str]) -> tuple[float, float]:
    """(seconds until the adapter file exists, seconds until exit)."""
    folder, pattern = adapter_glob
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    saved = None
    while proc.poll() is None:
        if saved is None and any(folder.glob(pattern)):
            saved = time.perf_counter() - start
        time.sleep(0.005)
    total = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr.read() if proc.stderr else ''}")
    if saved is None:
        saved = total if any(folder.glob(pattern)) else float("nan")
    return saved, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--layers", type=int, default=2)
    opts = parser.parse_args()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        model = work / "tiny"
        subprocess.run([sys.executable, "-m", "workflow", "tiny-model", str(model), "--hidden", str(opts.hidden),
                        "--layers", str(opts.layers)], check=True, env=env, stdout=subprocess.DEVNULL)
        spec = {
            "base_model": str(model), "method": "sft",
            "adapter": {"kind": "lora", "r": 8, "alpha": 16, "dropout": 0.0, "target_modules": ["all-linear"]},
            "hyperparameters": {"learning_rate": 0.005, "max_steps": opts.steps, "batch_size": 8, "grad_accum": 1,
                                "warmup_ratio": 0.0, "max_length": 128},
            "datasets": {"format": "messages", "train_file": str(TRAIN), "val_fraction": 0.0,
                         "test_fraction": 0.0},
            "evaluation": {"eval_steps": opts.steps, "save_steps": opts.steps, "early_stopping_patience": 0},
        }
        spec_file = work / "spec.yaml"
        spec_file.write_text(yaml.safe_dump(spec), encoding="utf-8")
        # The plain script gets exactly the TRL and PEFT arguments cairn resolves (printed by --dry-run).
        dry = subprocess.run([sys.executable, "-m", "workflow", "train", "--spec", str(spec_file), "--dry-run",
                              "--json"], check=True, env=env, capture_output=True, text=True)
        resolved = json.loads(dry.stdout)["stages"]["sft"]
        script = work / "plain_trl.py"
        script.write_text(PLAIN, encoding="utf-8")

        cairn_times: list[tuple[float, float]] = []
        plain_times: list[tuple[float, float]] = []
        for n in range(opts.repeats):
            plain_dir = work / f"plain-{n}"
            plain_dir.mkdir()
            args = {"trl": {**resolved["trl"], "output_dir": str(plain_dir / "checkpoints")},
                    "peft": resolved["peft"]}
            (plain_dir / "args.json").write_text(json.dumps(args), encoding="utf-8")
            plain_times.append(_timed([sys.executable, str(script), str(model), str(TRAIN), str(plain_dir),
                                       str(plain_dir / "args.json")],
                                      (plain_dir, "adapter/adapter_model.safetensors"), env))
            cairn_times.append(_timed([sys.executable, "-m", "workflow", "train", "--spec", str(spec_file),
                                       "--no-eval"], (work / "runs", "*/adapter/adapter_model.safetensors"), env))
            for path in (work / "runs").glob("*/adapter"):  # the next repetition waits for a new adapter
                path.rename(path.with_name("adapter-done"))
            print(f"rep {n + 1}: plain {plain_times[-1][0]:.2f}s (exit {plain_times[-1][1]:.2f}s)  "
                  f"cairn {cairn_times[-1][0]:.2f}s (exit {cairn_times[-1][1]:.2f}s)", flush=True)

    plain_saved = statistics.median(t[0] for t in plain_times)
    cairn_saved = statistics.median(t[0] for t in cairn_times)
    plain_exit = statistics.median(t[1] for t in plain_times)
    cairn_exit = statistics.median(t[1] for t in cairn_times)
    print(f"\ntiny model hidden {opts.hidden} x {opts.layers} layers, LoRA SFT {opts.steps} steps, "
          f"{opts.repeats} repetitions (medians)")
    print(f"process start -> adapter saved: plain TRL {plain_saved:.2f}s, cairn {cairn_saved:.2f}s, "
          f"ratio {cairn_saved / plain_saved:.3f}x (goal <= 1.05x)")
    print(f"process start -> exit:          plain TRL {plain_exit:.2f}s, cairn {cairn_exit:.2f}s, "
          f"ratio {cairn_exit / plain_exit:.3f}x (cairn also writes loss.png and report.md)")


if __name__ == "__main__":
    main()
