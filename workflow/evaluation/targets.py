"""What `cairn eval run --target` calls: a shell command, a Python callable or a compiled
LangGraph graph. Each returns an Outcome; a failing call is an Outcome with `error`, never
an exception, so one bad case cannot stop a run."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import importlib
import inspect
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from workflow.errors import ConfigError
from workflow.evaluation.fingerprint import Fingerprint, command_roots, compute_fingerprint, python_roots

__all__ = ["CallableTarget", "CommandTarget", "GraphTarget", "Outcome", "Target", "resolve_target", "to_jsonable"]

_PY_TARGET = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


@dataclass(frozen=True, kw_only=True)
class Outcome:
    """One call of the target: output (JSON-safe) or error, latency and what it reported."""

    output: Any = None
    error: str | None = None
    latency_ms: float = 0.0
    usage: dict[str, int] | None = None
    cost_usd: float | None = None


class Target(Protocol):
    spec: str
    is_async: bool

    def fingerprint_paths(self) -> list[Path]: ...

    def call(self, case_id: str, value: Any) -> Outcome: ...

    async def acall(self, case_id: str, value: Any) -> Outcome: ...


def to_jsonable(value: Any) -> Any:
    """Turn LangChain messages, pydantic models and dataclasses into plain JSON values."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    msg_type, content = getattr(value, "type", None), getattr(value, "content", None)
    if isinstance(msg_type, str) and content is not None and hasattr(value, "additional_kwargs"):
        return {"type": msg_type, "content": to_jsonable(content)}
    if hasattr(value, "model_dump"):
        return to_jsonable(value.model_dump(mode="json"))
    if hasattr(value, "__dataclass_fields__"):
        import dataclasses

        return to_jsonable(dataclasses.asdict(value))
    return str(value)


def _normalise_usage(raw: Any) -> dict[str, int] | None:
    if not isinstance(raw, dict):
        return None
    tin = raw.get("input_tokens", raw.get("prompt_tokens"))
    tout = raw.get("output_tokens", raw.get("completion_tokens"))
    if not isinstance(tin, int | float) and not isinstance(tout, int | float):
        return None
    usage = {"input_tokens": int(tin or 0), "output_tokens": int(tout or 0)}
    usage["total_tokens"] = int(raw.get("total_tokens") or usage["input_tokens"] + usage["output_tokens"])
    return usage


def _unwrap(result: Any, collected: dict[str, int] | None) -> Outcome:
    """Apply the `{"output", "usage", "cost_usd"}` envelope when the target returned one."""
    result = to_jsonable(result)
    usage, cost = collected, None
    if isinstance(result, dict) and "output" in result and set(result) <= {"output", "usage", "cost_usd"}:
        usage = _normalise_usage(result.get("usage")) or usage
        raw_cost = result.get("cost_usd")
        cost = float(raw_cost) if isinstance(raw_cost, int | float) else None
        result = result["output"]
    return Outcome(output=result, usage=usage, cost_usd=cost)


_usage_lock = threading.Lock()
_usage_var: Any = None
_handler_cls: Any = None


def _usage_hook() -> tuple[Any, Any]:
    """Register, once, a context variable LangChain reads when it configures callbacks for
    a model call, so a handler set in it sees every chat model call the target makes,
    including those inside LangGraph's worker threads (they copy the context)."""
    global _usage_var, _handler_cls
    with _usage_lock:
        if _usage_var is None:
            from langchain_core.callbacks import BaseCallbackHandler
            from langchain_core.tracers.context import register_configure_hook

            class UsageHandler(BaseCallbackHandler):
                def __init__(self) -> None:
                    self.totals: dict[str, int] = {}
                    self.lock = threading.Lock()

                def on_llm_end(self, response: Any, **kwargs: Any) -> None:
                    for generations in response.generations:
                        for generation in generations:
                            usage = getattr(getattr(generation, "message", None), "usage_metadata", None)
                            if not usage:
                                continue
                            with self.lock:
                                for key in ("input_tokens", "output_tokens", "total_tokens"):
                                    count = usage.get(key, 0)
                                    if isinstance(count, int | float):
                                        self.totals[key] = self.totals.get(key, 0) + int(count)

            _handler_cls = UsageHandler
            _usage_var = contextvars.ContextVar("cairn_eval_usage", default=None)
            register_configure_hook(_usage_var, inheritable=True)
    return _usage_var, _handler_cls


@contextlib.contextmanager
def _usage_collector() -> Iterator[dict[str, int]]:
    """Sum the token usage LangChain chat models report while the block runs."""
    totals: dict[str, int] = {}
    # A target that has not loaded LangChain cannot call a LangChain model; skipping the
    # hook spares plain callables the import (half a second, paid by the first calls).
    if "langchain_core" not in sys.modules:
        yield totals
        return
    var, handler_cls = _usage_hook()
    handler = handler_cls()
    token = var.set(handler)
    try:
        yield totals
    finally:
        var.reset(token)
        totals.update(handler.totals)


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


class _PythonTarget:
    spec: str
    is_async: bool
    module_file: Path | None
    module_name: str = ""
    timeout_s: float = 300.0

    def fingerprint_paths(self) -> list[Path]:
        if self.module_file is None:
            return []
        return python_roots(self.module_file, self.module_name or self.module_file.stem)

    def _invoke(self, value: Any) -> Any:
        raise NotImplementedError

    async def _ainvoke(self, value: Any) -> Any:
        raise NotImplementedError

    def call(self, case_id: str, value: Any) -> Outcome:
        start = time.perf_counter()
        box: dict[str, Any] = {}

        def work() -> None:
            try:
                with _usage_collector() as usage:
                    box["result"] = self._invoke(value)
                box["usage"] = usage
            except Exception as exc:  # the target's own failure becomes this case's error
                box["error"] = exc

        # A worker thread so --timeout-s holds for Python code too: a call still running at
        # the limit is recorded as timed out and abandoned (a daemon thread cannot block exit).
        worker = threading.Thread(target=contextvars.copy_context().run, args=(work,), daemon=True,
                                  name=f"cairn-eval-{case_id}")
        worker.start()
        worker.join(self.timeout_s)
        latency = (time.perf_counter() - start) * 1000
        if worker.is_alive():
            return Outcome(error=f"timed out after {self.timeout_s:g}s", latency_ms=latency)
        if "error" in box:
            return Outcome(error=_describe(box["error"]), latency_ms=latency)
        out = _unwrap(box.get("result"), box.get("usage") or None)
        return Outcome(output=out.output, usage=out.usage, cost_usd=out.cost_usd, latency_ms=latency)

    async def acall(self, case_id: str, value: Any) -> Outcome:
        start = time.perf_counter()
        try:
            with _usage_collector() as usage:
                result = await asyncio.wait_for(self._ainvoke(value), timeout=self.timeout_s)
        except TimeoutError:
            latency = (time.perf_counter() - start) * 1000
            return Outcome(error=f"timed out after {self.timeout_s:g}s", latency_ms=latency)
        except Exception as exc:  # the target's own failure becomes this case's error
            return Outcome(error=_describe(exc), latency_ms=(time.perf_counter() - start) * 1000)
        latency = (time.perf_counter() - start) * 1000
        out = _unwrap(result, usage or None)
        return Outcome(output=out.output, usage=out.usage, cost_usd=out.cost_usd, latency_ms=latency)


class CallableTarget(_PythonTarget):
    """A Python function called with the case input; async functions are awaited."""

    def __init__(self, fn: Callable[..., Any], *, spec: str, module_file: Path | None = None, module_name: str = "",
                 timeout_s: float = 300.0) -> None:
        self.fn, self.spec, self.module_file = fn, spec, module_file
        self.module_name, self.timeout_s = module_name, timeout_s
        call = getattr(fn, "__call__", None)  # noqa: B004 - async __call__ on callable objects
        self.is_async = inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(call)

    def _invoke(self, value: Any) -> Any:
        return self.fn(value)

    async def _ainvoke(self, value: Any) -> Any:
        result = self.fn(value)
        return await result if inspect.isawaitable(result) else result


class GraphTarget(_PythonTarget):
    """A compiled LangGraph graph invoked with the case input as its state.

    A non-dict input becomes `{"messages": [{"role": "user", "content": input}]}`, which
    is what MessagesState graphs take. `context` (the runtime context, built into the
    graph's context schema when it is a dataclass or pydantic model; the schema's defaults
    when not given) and `config` (a RunnableConfig such as `{"configurable": {...}}`) are
    passed to every invocation.
    """

    def __init__(self, graph: Any, *, spec: str, module_file: Path | None = None, module_name: str = "",
                 timeout_s: float = 300.0, context: dict[str, Any] | None = None,
                 config: dict[str, Any] | None = None) -> None:
        self.graph, self.spec, self.module_file = graph, spec, module_file
        self.module_name, self.timeout_s, self.config = module_name, timeout_s, config
        self.context = _build_context(graph, context)
        # Graphs with async-only nodes refuse .invoke(); they must run on the event loop.
        nodes = getattr(getattr(graph, "builder", None), "nodes", {}) or {}
        self.is_async = any(
            getattr(n.runnable, "func", 1) is None and getattr(n.runnable, "afunc", None) is not None
            for n in nodes.values()
        )

    @staticmethod
    def _state(value: Any) -> Any:
        return value if isinstance(value, dict) else {"messages": [{"role": "user", "content": value}]}

    def _kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"config": self.config}
        if self.context is not None:
            kwargs["context"] = self.context
        return kwargs

    def _invoke(self, value: Any) -> Any:
        return self.graph.invoke(self._state(value), **self._kwargs())

    async def _ainvoke(self, value: Any) -> Any:
        return await self.graph.ainvoke(self._state(value), **self._kwargs())


def _build_context(graph: Any, given: dict[str, Any] | None) -> Any:
    """The runtime context for a graph with a context schema: the given values built into
    the schema (nodes read `runtime.context.model`), or the schema's defaults.
    Raises ConfigError when the values do not fit the schema."""
    import dataclasses

    schema = getattr(getattr(graph, "builder", None), "context_schema", None)
    buildable = isinstance(schema, type) and (dataclasses.is_dataclass(schema) or hasattr(schema, "model_validate"))
    if not buildable:
        return given
    try:
        return schema(**(given or {}))  # type: ignore[misc]
    except Exception as exc:  # a dataclass raises TypeError, pydantic ValidationError
        if given is None:
            return None  # required fields without defaults: the user must pass --context
        raise ConfigError(f"--context: does not fit the graph's context schema {getattr(schema, '__name__', schema)} "
                          f"({_describe(exc)})") from None


class CommandTarget:
    """A shell command that reads `{"id", "input"}` as JSON on stdin and writes its output
    on stdout (parsed as JSON when it is JSON, else the stripped text)."""

    is_async = False

    def __init__(self, command: str, *, timeout_s: float = 300.0) -> None:
        self.spec, self.timeout_s = command, timeout_s

    def fingerprint_paths(self) -> list[Path]:
        """The working directory's project tree (what a command reads, e.g. app/prompts/*.txt,
        is not visible in its text) plus any file named on the command line."""
        try:
            tokens = shlex.split(self.spec)
        except ValueError:
            tokens = self.spec.split()
        return [*command_roots(Path.cwd()), *(Path(t) for t in tokens if Path(t).is_file())]

    def call(self, case_id: str, value: Any) -> Outcome:
        payload = json.dumps({"id": case_id, "input": value}, ensure_ascii=False)
        start = time.perf_counter()
        # Its own session (process group), so a timeout stops the shell and all its children.
        proc = subprocess.Popen(self.spec, shell=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, encoding="utf-8", start_new_session=True)
        try:
            stdout, stderr = proc.communicate(payload, timeout=self.timeout_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            return Outcome(error=f"timed out after {self.timeout_s:g}s", latency_ms=self.timeout_s * 1000)
        latency = (time.perf_counter() - start) * 1000
        if proc.returncode != 0:
            tail = (stderr.strip().splitlines() or [""])[-1]
            return Outcome(error=f"exit code {proc.returncode}: {tail}".rstrip(": "), latency_ms=latency)
        text = stdout.strip()
        try:
            result: Any = json.loads(text)
        except json.JSONDecodeError:
            result = text
        out = _unwrap(result, None)
        return Outcome(output=out.output, usage=out.usage, cost_usd=out.cost_usd, latency_ms=latency)

    async def acall(self, case_id: str, value: Any) -> Outcome:
        return await asyncio.to_thread(self.call, case_id, value)


def _import_attr(spec: str) -> tuple[Any, Path | None, str]:
    module_name, attr = spec.split(":", 1)
    # Targets are the user's code: import it the way `python -m` would from the current folder.
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # any import-time failure of user code is a usage error here
        raise ConfigError(f"--target {spec}: cannot import module '{module_name}' ({_describe(exc)})") from None
    if not hasattr(module, attr):
        raise ConfigError(f"--target {spec}: module '{module_name}' has no attribute '{attr}'")
    source = getattr(module, "__file__", None)
    return getattr(module, attr), Path(source).resolve() if source else None, module.__name__


def resolve_target(spec: str, *, timeout_s: float = 300.0, context: dict[str, Any] | None = None,
                   config: dict[str, Any] | None = None) -> Target:
    """`module:attr` is a Python target (a graph when it has .invoke, an uncompiled
    StateGraph is compiled first, else a callable); anything else is a shell command.
    `context` and `config` go to graph targets (ConfigError for other kinds).

    Raises ConfigError when the module cannot be imported or the attribute is unusable.
    """
    spec = spec.strip()
    if not spec:
        raise ConfigError("--target is empty: give a shell command, module:function or module:graph")
    if not _PY_TARGET.match(spec):
        if context is not None or config is not None:
            raise ConfigError(f"--target {spec}: --context and --config are for module:graph targets only")
        return CommandTarget(spec, timeout_s=timeout_s)
    obj, module_file, module_name = _import_attr(spec)
    if hasattr(obj, "compile") and hasattr(obj, "add_node") and not hasattr(obj, "invoke"):
        obj = obj.compile()
    if hasattr(obj, "invoke") and hasattr(obj, "ainvoke"):
        return GraphTarget(obj, spec=spec, module_file=module_file, module_name=module_name, timeout_s=timeout_s,
                           context=context, config=config)
    if context is not None or config is not None:
        raise ConfigError(f"--target {spec}: --context and --config are for module:graph targets only")
    if callable(obj):
        return CallableTarget(obj, spec=spec, module_file=module_file, module_name=module_name, timeout_s=timeout_s)
    raise ConfigError(f"--target {spec}: '{spec.split(':')[1]}' is a {type(obj).__name__}, "
                      "not a function or a compiled graph")


def fingerprint(target: Target, *, extra_paths: list[Path], env_names: list[str],
                exclude: list[Path] | None = None) -> Fingerprint:
    """A hash of the target spec, every file of its project tree, the extra files and
    folders, and the named environment variables: the part of the cache key that changes
    when the application changes (see workflow.evaluation.fingerprint)."""
    return compute_fingerprint(target.spec, target.fingerprint_paths(), extra_paths=extra_paths,
                               env_names=env_names, exclude=exclude)
