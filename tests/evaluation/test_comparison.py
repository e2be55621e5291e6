"""eval compare on runs with a planted effect and on runs with none (fixed seeds)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from workflow.errors import ConfigError, DataError
from workflow.evaluation.comparison import compare_records, compare_runs
from workflow.evaluation.records import CheckRecord, Record
from workflow.evaluation.rundir import RunSummary, summarize_records, write_run


def _run(seed: int, *, p_pass: float, latency: float, n_cases: int = 40, repeat: int = 3,
         case_prefix: str = "case") -> list[Record]:
    """Records whose cases pass with probability p_pass and take about `latency` ms."""
    rng = random.Random(seed)
    records = []
    for i in range(n_cases):
        for r in range(repeat):
            passed = rng.random() < p_pass
            records.append(Record(case_id=f"{case_prefix}-{i}", repeat=r, output="x", latency_ms=rng.gauss(latency, 20),
                                  checks=[CheckRecord(type="contains", passed=passed)], passed=passed))
    return records


def test_latency_shifts_seen_in_only_three_repetitions_are_not_called_significant() -> None:
    result = compare_records(_run(1, p_pass=0.5, latency=300), _run(2, p_pass=0.5, latency=200), seed=0)
    [latency] = [m for m in result.metrics if m.metric == "latency_ms"]
    assert latency.test == "between repetitions (3 vs 3)" and latency.p_value == pytest.approx(0.1)
    assert latency.verdict == "no significant change" and not latency.gated


def _by_metric(result) -> dict[str, str]:
    return {m.metric: m.verdict for m in result.metrics}


def test_compare_detects_a_planted_improvement_in_pass_rate_and_latency() -> None:
    # Five repetitions a run: latency must differ between repetition means too (3 vs 3 cannot reach p < 0.05).
    result = compare_records(_run(1, p_pass=0.4, latency=300, repeat=5), _run(2, p_pass=0.9, latency=200, repeat=5),
                             seed=0)
    verdicts = _by_metric(result)
    assert verdicts["pass_rate"] == "improved"
    assert verdicts["latency_ms"] == "improved"  # lower is better
    assert result.mcnemar.c > result.mcnemar.b
    assert result.mcnemar_verdict == "improved"
    assert not result.regressed


def test_compare_reports_the_same_change_the_other_way_round_as_a_regression() -> None:
    result = compare_records(_run(2, p_pass=0.9, latency=200, repeat=5), _run(1, p_pass=0.4, latency=300, repeat=5),
                             seed=0)
    assert _by_metric(result)["pass_rate"] == "regressed"
    assert _by_metric(result)["latency_ms"] == "regressed"
    assert result.regressed


@pytest.mark.parametrize("seeds", [(3, 4), (5, 6), (7, 8)])
def test_compare_does_not_call_two_runs_of_the_same_system_significant(seeds: tuple[int, int]) -> None:
    a, b = seeds
    result = compare_records(_run(a, p_pass=0.6, latency=250), _run(b, p_pass=0.6, latency=250), seed=0)
    assert set(_by_metric(result).values()) == {"no significant change"}
    assert result.mcnemar_verdict == "no significant change"
    assert not result.regressed


def test_compare_pairs_only_the_cases_both_runs_have() -> None:
    a = _run(1, p_pass=0.5, latency=100, n_cases=5)
    b = [r for r in _run(2, p_pass=0.5, latency=100, n_cases=6) if r.case_id != "case-0"]
    result = compare_records(a, b)
    assert result.n_cases == 4
    assert (result.only_in_a, result.only_in_b) == (["case-0"], ["case-5"])
    assert all(m.n == 4 for m in result.metrics)


def test_runs_without_shared_cases_cannot_be_compared() -> None:
    with pytest.raises(DataError, match="share no case ids"):
        compare_records(_run(1, p_pass=0.5, latency=1, n_cases=2), _run(1, p_pass=0.5, latency=1, n_cases=2,
                                                                        case_prefix="other"))


def test_only_restricts_the_compared_metrics_and_rejects_unknown_names() -> None:
    a, b = _run(1, p_pass=0.5, latency=100), _run(2, p_pass=0.5, latency=100)
    assert [m.metric for m in compare_records(a, b, only=["latency_ms"]).metrics] == ["latency_ms"]
    with pytest.raises(ConfigError, match="--metric cost_usd: not in both runs"):
        compare_records(a, b, only=["cost_usd"])


def _write(run_dir: Path, records: list[Record]) -> Path:
    summary = RunSummary(target="t", cases_file="c", cases_sha256="0", repeat=3, concurrency=1, created="now",
                         duration_s=0.0, n_cases=40, n_records=len(records), errors=0, cached=0,
                         metrics=summarize_records(records))
    write_run(run_dir, records, summary, plot=False)
    return run_dir


def test_compare_runs_reads_the_run_folders_written_by_eval_run(tmp_path: Path) -> None:
    a = _write(tmp_path / "a", _run(1, p_pass=0.3, latency=100))
    b = _write(tmp_path / "b", _run(2, p_pass=0.95, latency=100))
    result = compare_runs(a, b)
    assert _by_metric(result)["pass_rate"] == "improved"
    assert result.to_json()["regressed"] is False


def test_a_folder_that_is_not_a_run_is_a_data_error(tmp_path: Path) -> None:
    (tmp_path / "summary.json").write_text("{}", encoding="utf-8")
    (tmp_path / "results.jsonl").write_text("", encoding="utf-8")
    with pytest.raises(DataError, match="summary.json: field 'target'"):
        compare_runs(tmp_path, tmp_path)
    with pytest.raises(DataError, match="not a run folder"):
        compare_runs(tmp_path / "missing", tmp_path)


def test_a_damaged_results_line_is_reported_with_its_line_number(tmp_path: Path) -> None:
    run = _write(tmp_path / "a", _run(1, p_pass=0.5, latency=1, n_cases=1, repeat=1))
    with (run / "results.jsonl").open("a", encoding="utf-8") as fh:
        fh.write('{"case_id": "x"}\n')
    with pytest.raises(DataError, match=r"results.jsonl:2: not a result record"):
        compare_runs(run, run)
