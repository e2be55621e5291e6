"""loss.png (matplotlib) and report.md of a run."""

from __future__ import annotations

from typing import Any

from workflow.fileio import atomic_write_text
from workflow.training.comparison import Comparison
from workflow.training.runs import Run, RunState
from workflow.training.spec import TrainingSpec

__all__ = ["overfitting_warning", "plot_losses", "write_report"]

# Eval loss this far above its best, at the end of a stage, reads as overfitting.
OVERFIT_RATIO = 1.10


def _series(metrics: list[dict[str, Any]], stage: str, key: str) -> tuple[list[int], list[float]]:
    rows = [r for r in metrics if r.get("stage") == stage and key in r]
    return [int(r["step"]) for r in rows], [float(r[key]) for r in rows]


def plot_losses(run: Run, stages: list[str]) -> None:
    """Train and eval loss per stage, one panel each, written atomically to loss.png."""
    import matplotlib

    matplotlib.use("Agg")  # no display on servers and CI
    import matplotlib.pyplot as plt

    metrics = run.metrics.read()
    fig, axes = plt.subplots(1, len(stages), figsize=(6 * len(stages), 4), squeeze=False)
    for ax, stage in zip(axes[0], stages, strict=True):
        for key, label in (("loss", "train loss"), ("eval_loss", "eval loss")):
            steps, values = _series(metrics, stage, key)
            if steps:
                ax.plot(steps, values, marker="o" if key == "eval_loss" else None, markersize=3, label=label)
        ax.set_title(f"{stage} ({run.id})")
        ax.set_xlabel("step")
        ax.set_ylabel("loss")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    tmp = run.loss_png.with_name(".loss.png.tmp")
    fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
    tmp.replace(run.loss_png)


def overfitting_warning(metrics: list[dict[str, Any]], stage: str) -> str | None:
    _, evals = _series(metrics, stage, "eval_loss")
    if len(evals) >= 2 and evals[-1] > min(evals) * OVERFIT_RATIO:
        return (f"{stage}: eval loss ended at {evals[-1]:.4f}, {evals[-1] / min(evals) - 1:.0%} above its best "
                f"({min(evals):.4f}) — the model was overfitting; early stopping or fewer epochs would help")
    return None


def _fmt(value: Any) -> str:
    return "-" if value is None else f"{value:.4g}" if isinstance(value, float) else str(value)


def _comparison_lines(comparison: Comparison | None, note: str | None) -> list[str]:
    if comparison is None:
        return [note or "Not run."]
    lines = [f"Test split: {comparison.n} examples. Perplexity: base {comparison.base_perplexity:.4g}, "
             f"tuned {comparison.tuned_perplexity:.4g}.", "",
             "| metric | base | tuned | tuned − base | 95% CI (paired bootstrap) | p | verdict |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in comparison.rows:
        direction = "higher" if r.higher_is_better else "lower"
        lines.append(f"| {r.name} ({direction} is better) | {r.base:.4f} | {r.tuned:.4f} | {r.diff:+.4f} | "
                     f"[{r.ci_low:+.4f}, {r.ci_high:+.4f}] | {r.p_value:.3g} | {r.verdict} |")
    if comparison.examples:
        lines += ["", "Sample answers:", "", "| reference | base | tuned |", "| --- | --- | --- |"]
        for ex in comparison.examples[:5]:
            cells = [str(ex[k]).replace("|", "\\|").replace("\n", " ")[:80] for k in ("reference", "base", "tuned")]
            lines.append("| " + " | ".join(cells) + " |")
    return lines


def write_report(run: Run, spec: TrainingSpec, state: RunState, *, stages: list[str], counts: dict[str, int],
                 comparison: Comparison | None, comparison_note: str | None, warnings: list[str],
                 seconds: float, resolved: dict[str, Any]) -> str:
    """Write report.md (spec summary, curves, base vs tuned, warnings, run time); return its text."""
    s = state.summary
    adapter = ("full fine-tune" if spec.adapter.kind == "none" else
               f"{spec.adapter.kind} r={spec.adapter.r} alpha={spec.adapter.alpha} "
               f"dropout={spec.adapter.dropout} targets={', '.join(spec.adapter.target_modules)}")
    hp = spec.hyperparameters
    lines = [
        f"# Training run {run.id}", "",
        f"- Base model: `{spec.base_model}`",
        f"- Method: {spec.method}; adapter: {adapter}",
        f"- Hyperparameters: lr {hp.learning_rate:g}, epochs {hp.num_epochs:g}, max_steps {hp.max_steps}, "
        f"batch {hp.batch_size} × accumulation {hp.grad_accum}, warmup {hp.warmup_ratio:g}, "
        f"weight decay {hp.weight_decay:g}, max length {hp.max_length}, packing {hp.packing}"
        + (f", DPO beta {hp.dpo_beta:g}" if spec.method != "sft" else ""),
        "- Data: " + ", ".join(f"{k} {v}" for k, v in counts.items()),
        f"- Device: {resolved.get('device', {}).get('name', '?')}, precision {resolved.get('precision', '?')}, "
        f"seed {spec.seed}",
        f"- Spec sha256: `{state.spec_sha256}`",
        f"- Status: {state.status}; run time {seconds:.1f} s",
        "", "## Training", "",
    ]
    for stage in stages:
        st = s.get("stages", {}).get(stage, {})
        stopped = " (stopped early)" if st.get("stopped_early") else ""
        lines.append(f"- {stage}: {st.get('steps', '-')} of {st.get('max_steps', '-')} steps{stopped}; final train "
                     f"loss {_fmt(st.get('final_train_loss'))}, final eval loss {_fmt(st.get('final_eval_loss'))}, "
                     f"best eval loss {_fmt(st.get('best_eval_loss'))}")
    lines += ["", "![loss curves](loss.png)", "", "## Base vs tuned", ""]
    lines += _comparison_lines(comparison, comparison_note)
    lines += ["", "## Warnings", ""]
    lines += [f"- {w}" for w in warnings] or ["None."]
    outputs = [p for p in ("adapter", "model", "merged", "sft-adapter") if (run.dir / p).exists()]
    lines += ["", "## Files", "", *(f"- `{p}/`" for p in outputs),
              "- `resolved-config.yaml`, `metrics.jsonl`, `loss.png`, `checkpoints/`"]
    text = "\n".join(lines) + "\n"
    atomic_write_text(run.report, text)
    return text
