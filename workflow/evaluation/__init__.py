"""Measuring LLM applications (DESIGN 10).

stats: summary statistics and paired comparisons (shared with training's evaluation);
inspection: `eval inspect`, finds model-calling LangGraph nodes by reading the source;
cases, targets, assertions, runner, cache, records, rundir, execution: `eval run`;
comparison: `eval compare`; report: terminal output; cli: the typer group.
"""
