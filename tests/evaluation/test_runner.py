"""eval run's engine against real command, callable and LangGraph targets."""

from __future__ import annotations

import os
import shlex
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from workflow.errors import ConfigError
from workflow.evaluation.cache import OutcomeCache
from workflow.evaluation.cases import load_cases
from workflow.evaluation.records import per_repeat_metrics
from workflow.evaluation.runner import RunOptions, run_cases
from workflow.evaluation.targets import CallableTarget, CommandTarget, GraphTarget, fingerprint, resolve_target

WriteModule = Callable[[str], str]


def test_a_callable_target_runs_each_case_n_times_in_case_order(write_module: WriteModule, write_cases) -> None:
    mod = write_module("def upper(text):\n    return text.upper()\n")
    cases = load_cases(write_cases([{"id": "a", "input": "hi", "expected": "HI"},
                                    {"id": "b", "input": "yo", "expected": "nope"}]))
    target = resolve_target(f"{mod}:upper")
    assert isinstance(target, CallableTarget) and not target.is_async
    records = run_cases(target, cases, options=RunOptions(repeat=2, concurrency=2))
    assert [(r.case_id, r.repeat, r.output, r.passed) for r in records] == [
        ("a", 0, "HI", True), ("a", 1, "HI", True), ("b", 0, "YO", False), ("b", 1, "YO", False),
    ]
    assert per_repeat_metrics(records)["pass_rate"] == [0.5, 0.5]


def test_sync_targets_run_concurrency_calls_at_once(write_module: WriteModule, write_cases) -> None:
    # Four calls must be inside the target together for the barrier to open; run one at a
    # time they would break it (its timeout is only a guard against hanging forever).
    mod = write_module("import threading\nbarrier = threading.Barrier(4, timeout=20)\n"
                       "def meet(x):\n    barrier.wait()\n    return x\n")
    cases = load_cases(write_cases([{"input": i, "expected": i} for i in range(4)]))
    records = run_cases(resolve_target(f"{mod}:meet"), cases, options=RunOptions(repeat=1, concurrency=4))
    assert [r.error for r in records] == [None] * 4
    assert all(r.passed for r in records)


def test_async_targets_run_on_an_event_loop_with_concurrency_calls_in_flight(write_module: WriteModule,
                                                                               write_cases) -> None:
    mod = write_module("import asyncio\nbarrier = None\n"
                       "async def meet(x):\n    global barrier\n    barrier = barrier or asyncio.Barrier(3)\n"
                       "    await asyncio.wait_for(barrier.wait(), 20)\n    return {'output': x * 2}\n")
    cases = load_cases(write_cases([{"input": i, "expected": i * 2} for i in range(3)]))
    target = resolve_target(f"{mod}:meet")
    assert target.is_async
    records = run_cases(target, cases, options=RunOptions(repeat=1, concurrency=3))
    assert [r.output for r in records] == [0, 2, 4]
    assert all(r.passed for r in records)


def test_a_command_target_reads_the_case_on_stdin_and_reports_usage_and_cost(write_cases) -> None:
    script = ("import json, sys; case = json.load(sys.stdin); "
              "print(json.dumps({'output': case['id'] + ':' + case['input'][::-1], "
              "'usage': {'prompt_tokens': 10, 'completion_tokens': 4}, 'cost_usd': 0.002}))")
    target = resolve_target(f"{shlex.quote(sys.executable)} -c {shlex.quote(script)}")
    assert isinstance(target, CommandTarget)
    cases = load_cases(write_cases([{"id": "k", "input": "abc", "assertions": [{"type": "equals", "value": "k:cba"}]}]))
    [record] = run_cases(target, cases, options=RunOptions(repeat=1))
    assert (record.output, record.passed, record.cost_usd, record.cost_estimated) == ("k:cba", True, 0.002, False)
    assert record.usage == {"input_tokens": 10, "output_tokens": 4, "total_tokens": 14}


def test_a_failing_command_becomes_a_failed_record_with_its_last_stderr_line(write_cases) -> None:
    script = "import sys; sys.stderr.write('loading\\nmodel not found\\n'); sys.exit(3)"
    target = resolve_target(f"{shlex.quote(sys.executable)} -c {shlex.quote(script)}")
    [record] = run_cases(target, load_cases(write_cases([{"input": "x"}])), options=RunOptions(repeat=1))
    assert record.error == "exit code 3: model not found"
    assert not record.passed


def test_plain_text_command_output_is_the_stripped_stdout(write_cases) -> None:
    target = resolve_target("echo '  plain words  '")
    [record] = run_cases(target, load_cases(write_cases([{"input": 1, "expected": "plain words"}])),
                         options=RunOptions(repeat=1))
    assert record.output == "plain words" and record.passed


GRAPH_APP = """
from typing import TypedDict
from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage
from langgraph.graph import END, START, StateGraph

llm = FakeMessagesListChatModel(responses=[
    AIMessage(content="Paris", usage_metadata={"input_tokens": 12, "output_tokens": 3, "total_tokens": 15})])

class State(TypedDict, total=False):
    question: str
    answer: str
    checked: bool

PREFIXdef ask(state: State) -> State:
    return {"answer": llm.invoke(state["question"]).content}

def check(state: State) -> State:
    return {"checked": True}

builder = StateGraph(State)
builder.add_node(ask)
builder.add_node(check)
builder.add_edge(START, "ask")
builder.add_edge("ask", "check")
builder.add_edge("check", END)
graph = builder.compile()
"""


def test_a_graph_target_with_a_fake_chat_model_reports_output_tokens_and_estimated_cost(
        write_module: WriteModule, write_cases) -> None:
    mod = write_module(GRAPH_APP.replace("PREFIX", ""))
    target = resolve_target(f"{mod}:graph")
    assert isinstance(target, GraphTarget) and not target.is_async
    cases = load_cases(write_cases([{"input": {"question": "Capital of France?"}, "expected": "Paris"}]))
    options = RunOptions(repeat=2, output_key="answer", usd_per_1k_input=1.0, usd_per_1k_output=2.0)
    records = run_cases(target, cases, options=options)
    assert [r.output for r in records] == ["Paris", "Paris"]
    assert all(r.passed for r in records)
    assert records[0].usage == {"input_tokens": 12, "output_tokens": 3, "total_tokens": 15}
    assert records[0].cost_usd == pytest.approx(12 / 1000 * 1.0 + 3 / 1000 * 2.0)
    assert records[0].cost_estimated
    assert per_repeat_metrics(records)["input_tokens"] == [12.0, 12.0]


def test_a_graph_with_async_nodes_is_run_with_ainvoke(write_module: WriteModule, write_cases) -> None:
    source = GRAPH_APP.replace("PREFIX", "async ").replace('llm.invoke(state["question"])',
                                                       '(await llm.ainvoke(state["question"]))')
    target = resolve_target(f"{write_module(source)}:graph")
    assert target.is_async
    [record] = run_cases(target, load_cases(write_cases([{"input": {"question": "q"}}])),
                         options=RunOptions(repeat=1, output_key="answer"))
    assert (record.output, record.error) == ("Paris", None)


def test_an_uncompiled_state_graph_target_is_compiled(write_module: WriteModule, write_cases) -> None:
    mod = write_module(GRAPH_APP.replace("PREFIX", ""))
    assert isinstance(resolve_target(f"{mod}:builder"), GraphTarget)


def test_a_missing_output_key_fails_that_record_and_names_the_key(write_module: WriteModule, write_cases) -> None:
    mod = write_module("def f(x):\n    return {'text': x}\n")
    [record] = run_cases(resolve_target(f"{mod}:f"), load_cases(write_cases([{"input": "a"}])),
                         options=RunOptions(repeat=1, output_key="answer"))
    assert record.error == "output has no 'answer' (from --output-key answer)"


def test_output_keys_follow_lists_with_negative_indexes(write_module: WriteModule, write_cases) -> None:
    mod = write_module("def f(x):\n    return {'messages': [{'content': 'a'}, {'content': x}]}\n")
    [record] = run_cases(resolve_target(f"{mod}:f"), load_cases(write_cases([{"input": "z"}])),
                         options=RunOptions(repeat=1, output_key="messages.-1.content"))
    assert record.output == "z"


def test_an_exception_in_the_target_is_recorded_not_raised(write_module: WriteModule, write_cases) -> None:
    mod = write_module("def f(x):\n    raise RuntimeError('quota exceeded')\n")
    [record] = run_cases(resolve_target(f"{mod}:f"), load_cases(write_cases([{"input": 1}])),
                         options=RunOptions(repeat=1))
    assert record.error == "RuntimeError: quota exceeded"


@pytest.mark.parametrize(
    ("spec", "message"),
    [("no_such_module_xyz:f", "cannot import module 'no_such_module_xyz'"),
     ("json:nothing_here", "module 'json' has no attribute 'nothing_here'"),
     ("string:digits", "'digits' is a str, not a function or a compiled graph")],
)
def test_unusable_python_targets_are_config_errors(spec: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        resolve_target(spec)


def test_a_case_with_an_llm_judge_needs_a_judge_model(write_module: WriteModule, write_cases) -> None:
    mod = write_module("def f(x):\n    return x\n")
    cases = load_cases(write_cases([{"input": 1}, {"input": 2, "assertions": [{"type": "llm-judge", "rubric": "r"}]}]))
    with pytest.raises(ConfigError, match="line 2.*llm-judge.*config.yaml"):
        run_cases(resolve_target(f"{mod}:f"), cases, options=RunOptions(repeat=1))


def test_a_similar_assertion_runs_the_real_embedding_model_and_needs_the_dense_extra(
        write_module: WriteModule, write_cases, monkeypatch: pytest.MonkeyPatch) -> None:
    mod = write_module("def answer(q):\n    return {'refund': 'Refunds take 5 business days to arrive.',"
                       "\n            'ship': 'The capital of France is Paris.'}[q]\n")
    cases = load_cases(write_cases([
        {"id": "refund", "input": "refund", "expected": "The refund will arrive within five business days.",
         "assertions": [{"type": "similar"}]},
        {"id": "ship", "input": "ship", "assertions": [{"type": "similar", "value": "Your order has shipped.",
                                                         "threshold": 0.5}]}]))
    records = run_cases(resolve_target(f"{mod}:answer"), cases, options=RunOptions(repeat=1, concurrency=2))
    assert [(r.case_id, r.passed) for r in records] == [("refund", True), ("ship", False)]
    assert records[1].checks[0].detail.startswith("similarity ") and "< 0.50" in records[1].checks[0].detail
    import workflow.knowledge.dense as dense

    monkeypatch.setattr(dense, "installed", lambda: False)
    with pytest.raises(ConfigError, match=r"case 'ship' \(line 2\) has a similar assertion.*cairn\[dense\]"):
        run_cases(resolve_target(f"{mod}:answer"), cases[1:], options=RunOptions(repeat=1))


def _counting_package(app_dir: Path, name: str) -> str:
    pkg = app_dir / name
    pkg.mkdir()
    (pkg / "__init__.py").write_text("", encoding="utf-8")
    (pkg / "prompt.txt").write_text("Hello", encoding="utf-8")
    (pkg / "app.py").write_text(
        "from pathlib import Path\nHERE = Path(__file__).parent\n"
        "def reply(x):\n"
        "    with open(HERE / 'calls.log', 'a', encoding='utf-8') as fh:\n        fh.write('.')\n"
        "    return (HERE / 'prompt.txt').read_text(encoding='utf-8') + ' ' + x\n",
        encoding="utf-8",
    )
    return f"{name}.app:reply"


def test_unchanged_targets_are_served_from_the_cache_until_a_prompt_file_changes(app_dir: Path, write_cases) -> None:
    spec = _counting_package(app_dir, "cachedpkg")
    calls = app_dir / "cachedpkg" / "calls.log"
    cases = load_cases(write_cases([{"input": "a"}, {"input": "b"}]))
    options = RunOptions(repeat=2)

    def run() -> list[bool]:
        target = resolve_target(spec)
        key = fingerprint(target, extra_paths=[], env_names=[], exclude=[app_dir / "cache"])
        cache = OutcomeCache(app_dir / "cache", key.digest)
        return [r.cached for r in run_cases(target, cases, options=options, cache=cache)]

    try:
        assert run() == [False] * 4
        assert calls.read_text(encoding="utf-8") == "...."
        calls.unlink()  # a .log file is written by targets, not read: it does not change the fingerprint
        assert run() == [True] * 4
        assert not calls.exists()
        (app_dir / "cachedpkg" / "prompt.txt").write_text("Goodbye", encoding="utf-8")
        assert run() == [False] * 4
        assert calls.read_text(encoding="utf-8") == "...."
    finally:
        for mod in ("cachedpkg", "cachedpkg.app"):
            sys.modules.pop(mod, None)


def test_failed_calls_are_not_cached(write_module: WriteModule, write_cases, app_dir: Path) -> None:
    mod = write_module("def f(x):\n    raise ValueError('flaky')\n")
    target = resolve_target(f"{mod}:f")
    cache = OutcomeCache(app_dir / "cache", "fp")
    cases = load_cases(write_cases([{"input": 1}]))
    run_cases(target, cases, options=RunOptions(repeat=1), cache=cache)
    assert cache.get(1, 0) is None


def test_the_fingerprint_changes_with_a_named_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    target = resolve_target("cat")
    monkeypatch.setenv("EVAL_MODEL", "small")
    small = fingerprint(target, extra_paths=[], env_names=["EVAL_MODEL"]).digest
    monkeypatch.setenv("EVAL_MODEL", "large")
    assert fingerprint(target, extra_paths=[], env_names=["EVAL_MODEL"]).digest != small
    assert fingerprint(target, extra_paths=[], env_names=[]) == fingerprint(target, extra_paths=[], env_names=[])


@pytest.mark.parametrize("options", [RunOptions(repeat=0), RunOptions(concurrency=0)])
def test_repeat_and_concurrency_below_one_are_refused(options: RunOptions, write_cases) -> None:
    with pytest.raises(ConfigError, match="at least 1"):
        run_cases(resolve_target("cat"), load_cases(write_cases([{"input": 1}])), options=options)


def test_llm_judge_cases_are_graded_by_the_given_judge_model(write_module: WriteModule, write_cases) -> None:
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    mod = write_module("def f(x):\n    return 'Dear customer, ' + x\n")
    cases = load_cases(write_cases([{"input": "sorry", "assertions": [{"type": "llm-judge", "rubric": "Polite?"}]}]))
    judge = FakeListChatModel(responses=['{"pass": true, "reason": "greets the customer"}'])
    [record] = run_cases(resolve_target(f"{mod}:f"), cases, options=RunOptions(repeat=1), judge=judge)
    assert record.passed
    assert record.checks[0].model_dump() == {"type": "llm-judge", "passed": True, "detail": "greets the customer"}


def test_a_python_target_that_hangs_times_out_as_a_failed_case(write_module: WriteModule, write_cases) -> None:
    mod = write_module("import threading\nrelease = threading.Event()\n"
                       "def f(x):\n    if x == 'hang':\n        release.wait(60)\n    return x\n")
    target = resolve_target(f"{mod}:f", timeout_s=0.3)
    try:
        records = run_cases(target, load_cases(write_cases([{"input": "hang"}, {"input": "ok"}])),
                            options=RunOptions(repeat=1, concurrency=2))
    finally:
        sys.modules[mod].release.set()
    assert [(r.error, r.output) for r in records] == [("timed out after 0.3s", None), (None, "ok")]
    assert records[0].latency_ms < 30_000


def test_an_async_python_target_that_hangs_times_out(write_module: WriteModule, write_cases) -> None:
    mod = write_module("import asyncio\nasync def f(x):\n    await asyncio.sleep(60)\n    return x\n")
    [record] = run_cases(resolve_target(f"{mod}:f", timeout_s=0.2), load_cases(write_cases([{"input": 1}])),
                         options=RunOptions(repeat=1))
    assert record.error == "timed out after 0.2s" and not record.passed


def test_a_timed_out_shell_target_leaves_no_child_process_behind(app_dir: Path, write_cases) -> None:
    pid_file = app_dir / "child.pid"
    command = f"sh -c 'sleep 60 & echo $! > {pid_file}; wait'"
    [record] = run_cases(resolve_target(command, timeout_s=0.5), load_cases(write_cases([{"input": 1}])),
                         options=RunOptions(repeat=1))
    assert record.error == "timed out after 0.5s"
    pid = int(pid_file.read_text(encoding="utf-8"))
    for _ in range(200):  # the kill is sent before run_cases returns; wait for the kernel to reap it
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        if Path(f"/proc/{pid}/stat").is_file() and Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z":
            break  # killed, waiting for its parent (init) to reap it
        threading.Event().wait(0.05)
    else:
        pytest.fail(f"child {pid} of the timed-out command is still running")


GRAPH_WITH_CONTEXT = """
from dataclasses import dataclass
from typing import TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime


@dataclass
class Context:
    model: str = "small-model"


class State(TypedDict):
    question: str
    answer: str


def respond(state: State, runtime: Runtime[Context], config) -> dict:
    user = config.get("configurable", {}).get("user_id", "anonymous")
    return {"answer": f"{runtime.context.model} for {user}: {state['question']}"}


builder = StateGraph(State, context_schema=Context)
builder.add_node("respond", respond)
builder.add_edge(START, "respond")
builder.add_edge("respond", END)
graph = builder.compile()
"""


def test_graph_targets_get_the_context_schema_defaults_or_the_given_context_and_config(
        write_module: WriteModule, write_cases) -> None:
    mod = write_module(GRAPH_WITH_CONTEXT)
    cases = load_cases(write_cases([{"input": {"question": "hi"}}]))
    options = RunOptions(repeat=1, output_key="answer")
    [default] = run_cases(resolve_target(f"{mod}:graph"), cases, options=options)
    assert (default.error, default.output) == (None, "small-model for anonymous: hi")
    target = resolve_target(f"{mod}:graph", context={"model": "large-model"},
                            config={"configurable": {"user_id": "u7"}})
    [given] = run_cases(target, cases, options=options)
    assert given.output == "large-model for u7: hi"
    with pytest.raises(ConfigError, match="--context: does not fit the graph's context schema Context"):
        resolve_target(f"{mod}:graph", context={"modle": "typo"})


def test_context_and_config_are_refused_for_targets_that_are_not_graphs(write_module: WriteModule) -> None:
    mod = write_module("def f(x):\n    return x\n")
    with pytest.raises(ConfigError, match="for module:graph targets only"):
        resolve_target(f"{mod}:f", context={"a": 1})
    with pytest.raises(ConfigError, match="for module:graph targets only"):
        resolve_target("cat", config={"configurable": {}})


def test_rate_limited_calls_are_retried_and_other_failures_are_not(write_module: WriteModule, write_cases) -> None:
    mod = write_module(
        "calls = {}\n\nclass RateLimitError(Exception):\n    pass\n\n"
        "def f(x):\n    calls[x] = calls.get(x, 0) + 1\n"
        "    if x == 'busy' and calls[x] < 3:\n        raise RateLimitError('Error code: 429 - rate limit reached')\n"
        "    if x == 'broken':\n        raise ValueError('bad input')\n    return x\n")
    cases = load_cases(write_cases([{"input": "busy"}, {"input": "broken"}]))
    records = run_cases(resolve_target(f"{mod}:f"), cases, options=RunOptions(repeat=1, retry_delay_s=0.001))
    assert [(r.output, r.error) for r in records] == [("busy", None), (None, "ValueError: bad input")]
    assert sys.modules[mod].calls == {"busy": 3, "broken": 1}


def test_isolated_python_targets_are_stopped_at_the_timeout_and_survive_crashes(app_dir: Path, write_module,
                                                                                write_cases) -> None:
    from workflow.evaluation.worker import IsolatedTarget

    mod = write_module(
        "import os, pathlib, time\n\n"
        "def f(x):\n    print('chatty target')  # must not corrupt the worker protocol\n"
        "    if x == 'hang':\n        pathlib.Path('hung.pid').write_text(str(os.getpid()))\n        time.sleep(60)\n"
        "    if x == 'crash':\n        os._exit(3)\n    return x.upper()\n")
    target = IsolatedTarget(resolve_target(f"{mod}:f"), timeout_s=1.0)
    cases = load_cases(write_cases([{"input": "hang"}, {"input": "ok"}, {"input": "crash"}, {"input": "again"}]))
    try:
        records = run_cases(target, cases, options=RunOptions(repeat=1))
    finally:
        target.close()
    assert [(r.output, r.error) for r in records] == [
        (None, "timed out after 1s (worker stopped)"), ("OK", None), (None, "worker exited with code 3: chatty target"),
        ("AGAIN", None)]
    with pytest.raises(ProcessLookupError):  # the hung call's process is gone, not left running
        os.kill(int((app_dir / "hung.pid").read_text(encoding="utf-8")), 0)
