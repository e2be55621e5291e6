"""loss.png (matplotlib) and report.md of a run."""

from __future__ import annotations

from typing import Any

from workflow.fileio import atomic_write_text
from workflow.training.comparison import Comparison
from workflow.training.forgetting import Forgetting, forgetting_lines
from workflow.training.runs import Run, RunState
from workflow.training.spec import TrainingSpec

__all__ = ["comparison_warnings", "overfitting_warning", "plot_losses", "stage_warnings", "write_report"]

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


def _cell(text: Any, width: int = 40) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")[:width]


def _results_table(c: Comparison) -> list[str]:
    """Every model side by side: trivial baselines, base, each stage (or tuned)."""
    columns: dict[str, dict[str, float]] = dict(c.baselines)
    columns |= c.stages or {"base": {r.name: r.base for r in c.rows}, "tuned": {r.name: r.tuned for r in c.rows}}
    metrics = [r.name for r in c.rows]
    lines = ["| metric | " + " | ".join(_cell(name, 60) for name in columns) + " |",
             "| --- |" + " --- |" * len(columns)]
    for metric in metrics:
        lines.append(f"| {metric} | " + " | ".join(f"{col[metric]:.4f}" if metric in col else "-"
                                                    for col in columns.values()) + " |")
    if c.best_stage:
        lines += ["", f"Best stage: **{c.best_stage}** (by {'exact match' if c.distributions else 'loss'})."]
    return lines


def _distribution_lines(c: Comparison) -> list[str]:
    if not c.distributions:
        return []
    d = c.distributions
    lines = ["", "Most frequent answers (normalised), count of " + str(d["tuned"].n) + ":", "",
             "| # | reference | base | tuned |", "| --- | --- | --- | --- |"]
    for i in range(max(len(x.top) for x in d.values())):
        cells = [f"{_cell(x.top[i][0] or '(empty)', 30)} ({x.top[i][1]})" if i < len(x.top) else "-"
                 for x in (d["reference"], d["base"], d["tuned"])]
        lines.append(f"| {i + 1} | " + " | ".join(cells) + " |")
    lines.append(f"| distinct | {d['reference'].distinct} | {d['base'].distinct} | {d['tuned'].distinct} |")
    return lines


def _comparison_lines(comparison: Comparison | None, note: str | None) -> list[str]:
    if comparison is None:
        return [note or "Not run."]
    lines = [f"Test split: {comparison.n} examples. Perplexity: base {comparison.base_perplexity:.4g}, "
             f"tuned {comparison.tuned_perplexity:.4g}. Verdict: **{comparison.verdict}**.", ""]
    lines += _results_table(comparison)
    lines += ["", "Tuned against base (paired):", "",
              "| metric | base | tuned | tuned − base | 95% CI (paired bootstrap) | p | verdict |",
              "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in comparison.rows:
        direction = "higher" if r.higher_is_better else "lower"
        lines.append(f"| {r.name} ({direction} is better) | {r.base:.4f} | {r.tuned:.4f} | {r.diff:+.4f} | "
                     f"[{r.ci_low:+.4f}, {r.ci_high:+.4f}] | {r.p_value:.3g} | {r.verdict} |")
    lines += _distribution_lines(comparison)
    if comparison.examples:
        lines += ["", "Sample answers:", "", "| reference | base | tuned |", "| --- | --- | --- |"]
        for ex in comparison.examples[:5]:
            lines.append("| " + " | ".join(_cell(ex[k], 80) for k in ("reference", "base", "tuned")) + " |")
    return lines


def stage_warnings(stages: dict[str, dict[str, Any]]) -> list[str]:
    """Examples TRL dropped, and the libraries' own warnings, per stage."""
    out = []
    for name, st in stages.items():
        total, kept = st.get("train_examples"), st.get("trained_examples")
        if total and kept is not None and kept < total:
            out.append(f"{name}: TRL trained on {kept} of {total} examples; {total - kept} were dropped (no answer "
                       "token within max_length): raise max_length or shorten the prompts")
        out += [f"{name}, {w}" for w in st.get("library_warnings") or []]
    return out


def comparison_warnings(c: Comparison) -> list[str]:
    """Regression, collapse, worse than a trivial baseline, a later stage undoing an earlier one."""
    out = []
    if c.regressed:
        out.append(f"REGRESSION: the tuned model is worse than the base on {', '.join(c.regressed)}")
    if c.collapsed:
        t, r = c.distributions["tuned"], c.distributions["reference"]
        out.append(f"COLLAPSE: the tuned model answers {t.top[0][0]!r} for {t.top[0][1]} of {t.n} test items, while "
                   f"the most frequent reference answer covers {r.top_share:.0%} of them")
    for metric in c.below_trivial:
        name, value = max(((n, b[metric]) for n, b in c.baselines.items()), key=lambda pair: pair[1])
        tuned = next(r.tuned for r in c.rows if r.name == metric)
        out.append(f"WORSE THAN TRIVIAL: tuned {metric} {tuned:.4f} is below the baseline {name} ({value:.4f})")
    trained = [n for n in c.stages if n != "base"]
    if c.best_stage and trained and c.best_stage != trained[-1]:
        primary = "exact match" if "exact match" in c.stages[trained[-1]] else "loss"
        out.append(f"STAGE: {trained[-1]} made {primary} worse than after {c.best_stage} "
                   f"({c.stages[c.best_stage][primary]:.4f} -> {c.stages[trained[-1]][primary]:.4f}); the "
                   f"{c.best_stage} model is the better one")
    return out


def _provenance_lines(resolved: dict[str, Any]) -> list[str]:
    p = resolved.get("provenance") or {}
    libraries = ", ".join(f"{k} {v}" for k, v in (p.get("libraries") or {}).items())
    return [f"- Libraries: python {p.get('python', '?')}, {libraries or 'unknown'}",
            f"- Code: Cairn commit `{p.get('cairn_commit') or 'not a git checkout'}`; project commit "
            f"`{p.get('project_commit') or 'not a git checkout'}`"]


def _length_lines(resolved: dict[str, Any], max_length: int) -> list[str]:
    lengths = (resolved.get("data") or {}).get("lengths") or {}
    parts = [f"{stage} {split} {c['dropped']} dropped, {c['truncated']} truncated of {c['examples']} (longest "
             f"{c['longest']} tokens)" for stage, splits in lengths.items() for split, c in splits.items()]
    template = (resolved.get("chat_template") or {}).get("note")
    return ([f"- Tokenized at max length {max_length}: " + "; ".join(parts)] if parts else []) + (
        [f"- Chat template for training: {template}"] if template else [])


def write_report(run: Run, spec: TrainingSpec, state: RunState, *, stages: list[str], counts: dict[str, int],
                 comparison: Comparison | None, comparison_note: str | None, warnings: list[str],
                 seconds: float, resolved: dict[str, Any], forgetting: Forgetting | None = None,
                 forgetting_note: str | None = None) -> str:
    """Write report.md (spec summary, curves, base vs tuned on the test split and on the regression
    set, warnings, run time); return its text."""
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
        *_length_lines(resolved, hp.max_length),
        f"- Spec sha256: `{state.spec_sha256}`",
        *_provenance_lines(resolved),
        f"- Status: {state.status}; run time {seconds:.1f} s",
        "", "## Training", "",
    ]
    for stage in stages:
        st = s.get("stages", {}).get(stage, {})
        stopped = " (stopped early)" if st.get("stopped_early") else ""
        restored = (f"; restored {st['restored_checkpoint']} (the best eval loss), which is the saved model"
                    if st.get("restored_checkpoint") else "")
        trained = (f"; trained on {st['trained_examples']} of {st['train_examples']} examples"
                   if st.get("trained_examples") is not None else "")
        lines.append(f"- {stage}: {st.get('steps', '-')} of {st.get('max_steps', '-')} steps{stopped}; final train "
                     f"loss {_fmt(st.get('final_train_loss'))}, final eval loss {_fmt(st.get('final_eval_loss'))}, "
                     f"best eval loss {_fmt(st.get('best_eval_loss'))}, eval loss of the saved model "
                     f"{_fmt(st.get('saved_eval_loss'))}{restored}{trained}")
    lines += ["", "![loss curves](loss.png)", "", "## Test results", ""]
    lines += _comparison_lines(comparison, comparison_note)
    lines += ["", "## General skills (regression set)", ""]
    lines += forgetting_lines(forgetting, forgetting_note)
    lines += ["", "## Warnings", ""]
    lines += [f"- {w}" for w in warnings] or ["None."]
    outputs = [p for p in ("adapter", "model", "merged", "sft-adapter") if (run.dir / p).exists()]
    lines += ["", "## Files", "", *(f"- `{p}/`" for p in outputs),
              "- `resolved-config.yaml`, `metrics.jsonl`, `loss.png`, `checkpoints/`"]
    text = "\n".join(lines) + "\n"
    atomic_write_text(run.report, text)
    return text
