"""Terminal output of the eval commands (rich tables on stdout)."""

from __future__ import annotations

import sys
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from workflow.evaluation.comparison import Comparison
from workflow.evaluation.inspection import NodeReport
from workflow.evaluation.rundir import RunSummary

__all__ = ["print_comparison", "print_inspection", "print_summary"]

_VERDICT_STYLE = {"improved": "green", "regressed": "red", "no significant change": "dim"}

# The eval commands' own words in Japanese (communication_language: ja); JSON output and
# metric names stay as they are, so scripts read the same keys in either language.
_JA = {
    "improved": "改善", "regressed": "悪化", "no significant change": "有意な変化なし", "(not gated)": "(ゲート対象外)",
    "metric": "指標", "mean": "平均", "std (cases)": "標準偏差(ケース間)", "std (repeats)": "標準偏差(繰り返し間)",
    "95% CI (over cases)": "95% 区間(ケースにわたる)", "n": "n", "B - A": "B - A", "CI": "信頼区間", "p": "p 値",
    "min effect": "最小効果", "verdict": "判定",
    "run title": "{cases} ケース × {repeat} 回",
    "compare title": "{b} 対 {a}: 対応のある {n} ケース",
    "errors": "{n} 回の呼び出しが失敗しました(results.jsonl の 'error' を参照)",
    "cached": "{cached} / {total} 件の出力はキャッシュから(--no-cache で再実行)",
    "not cached": "0 / {total} 件の出力がキャッシュから",
    "key files": "キャッシュキーは対象プロジェクトの {n} ファイルを含みます",
    "wrote": "{dir}/results.jsonl、summary.json、metrics.png を書き出しました",
    "p note": "p 値: ケースにわたる正確な符号反転検定(* はランダムな符号反転による推定、† はそれと繰り返し平均間の"
              "並べ替え検定の大きい方)。信頼区間: 対応のあるブートストラップ",
    "mcnemar": "合否(McNemar): A のみ合格 {b} ケース、B のみ合格 {c} ケース、p = {p}: {verdict}",
    "note": "注意: {text}",
    "calls no model": "  モデルを呼び出しません",
    "prompt not visible": "  プロンプト  見えません(実行時に組み立て)",
    "nodes summary": "グラフの {total} ノードのうち {calling} ノードがチャットモデルを呼び出します。",
}


def _language() -> str:
    try:
        from workflow.context import current_settings

        return current_settings().config.communication_language
    except Exception:  # output must not fail because the configuration cannot be read
        return "en"


def _t(key: str, default: str, **values: object) -> str:
    text = _JA.get(key, default) if _language() == "ja" else default
    return text.format(**values)


def _console() -> Console:
    # Piped output is read by people in logs and CI: do not squeeze tables to 80 columns.
    return Console(highlight=False, width=None if sys.stdout.isatty() else 160)


def _num(value: float) -> str:
    return f"{value:.4g}"


def print_inspection(reports: list[NodeReport], *, total: int) -> None:
    """One block per node: where it is, the model it calls, the prompts it uses."""
    console = _console()
    calling = sum(r.calls_model for r in reports)
    for r in reports:
        console.print(f"[bold]{r.node}[/bold]  {r.file}:{r.line}  function {r.function}  (graph {r.graph})")
        if not r.model_calls:
            console.print(_t("calls no model", "  calls no model"))
        for call in r.model_calls:
            via = f" via {call.via}()" if call.via else ""
            name = call.model.model or "model not visible"
            console.print(f"  model   {call.model.cls} [cyan]{name}[/cyan]  {call.model.binding}"
                          f"  (.{call.method} at line {call.line}{via})", markup=True)
            for p in call.prompts or []:
                named = f"  (as {p.name})" if p.name else ""
                console.print(f"  prompt  {p.kind:<8} {p.text}{named}", markup=False)
            if not call.prompts:
                console.print(_t("prompt not visible", "  prompt  not visible (built at run time)"))
    console.print(_t("nodes summary", "{calling} of {total} graph nodes call a chat model.", calling=calling,
                     total=total))


def print_summary(summary: RunSummary, run_dir: Path) -> None:
    """The per-metric statistics across repetitions, then where the files are."""
    console = _console()
    table = Table(title=_t("run title", "{cases} cases x {repeat} repetitions", cases=summary.n_cases,
                           repeat=summary.repeat), title_justify="left")
    for col in ("metric", "mean", "std (cases)", "std (repeats)", "95% CI (over cases)", "n"):
        table.add_column(_t(col, col), justify="left" if col == "metric" else "right")
    for name, m in summary.metrics.items():
        interval = escape(f"[{_num(m.ci_low)}, {_num(m.ci_high)}]")
        table.add_row(escape(name), _num(m.mean), _num(m.std), _num(m.repeat_std), interval, str(m.n))
    console.print(table)
    notes = []
    if summary.errors:
        notes.append(_t("errors", "{n} calls failed (see 'error' in results.jsonl)", n=summary.errors))
    if summary.cached:
        notes.append(_t("cached", "{cached} of {total} outputs from the cache (--no-cache to call again)",
                        cached=summary.cached, total=summary.n_records))
    elif summary.target_fingerprint:
        notes.append(_t("not cached", "0 of {total} outputs from the cache", total=summary.n_records))
    if summary.fingerprint_files:
        notes.append(_t("key files", "cache key covers {n} files of the target's project", n=summary.fingerprint_files))
    for note in notes:
        console.print(note, markup=False)
    console.print(_t("wrote", "wrote {dir}/results.jsonl, summary.json, metrics.png", dir=run_dir), markup=False)


def print_comparison(result: Comparison) -> None:
    """Per-metric paired differences (B - A) with CI, p-value and verdict, then McNemar."""
    console = _console()
    level = f"{(1 - result.alpha) * 100:g}%"
    table = Table(title=_t("compare title", "{b} vs {a}: {n} paired cases", b=result.run_b, a=result.run_a,
                           n=result.n_cases), title_justify="left")
    for col in ("metric", "n", "A", "B", "B - A", "CI", "p", "min effect", "verdict"):
        label = f"{level} {_t('CI', 'CI')}" if col == "CI" else _t(col, col)
        table.add_column(label, justify="left" if col in {"metric", "verdict"} else "right")
    for m in result.metrics:
        style = _VERDICT_STYLE.get(m.verdict, "")
        shown = _t(m.verdict, m.verdict) + ("" if m.gated else " " + _t("(not gated)", "(not gated)"))
        p_text = f"{m.p_value:.3g}" + ("" if m.test == "exact" else "†" if m.test.startswith("between") else "*")
        table.add_row(escape(m.metric), str(m.n), _num(m.a_mean), _num(m.b_mean), f"{m.mean_diff:+.4g}",
                      escape(f"[{_num(m.ci_low)}, {_num(m.ci_high)}]"), p_text, escape(m.min_effect),
                      f"[{style}]{escape(shown)}[/{style}]" if style else escape(shown))
    console.print(table)
    console.print(_t("p note", "p: exact sign-flip test over cases (* estimated from random sign flips; † the "
                     "larger p of that and a permutation test between repetition means); CI: paired bootstrap"),
                  markup=False)
    t = result.mcnemar
    console.print(_t("mcnemar", "pass/fail (McNemar): {b} cases passed only in A, {c} only in B, p = {p}: {verdict}",
                     b=t.b, c=t.c, p=f"{t.p_value:.3g}", verdict=_t(result.mcnemar_verdict, result.mcnemar_verdict)),
                  markup=False)
    for note in result.notes:
        console.print(_t("note", "note: {text}", text=note), markup=False)
