"""`cairn eval inspect`: find the nodes of a LangGraph application that call a chat model,
with the prompt and the model each uses, by reading the source (never importing it)."""

from __future__ import annotations

import ast
import dataclasses
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from workflow.errors import ConfigError
from workflow.evaluation._source_index import ModuleInfo, build_index, class_method
from workflow.evaluation._source_values import (
    AGENT_FACTORIES,
    CALL_METHODS,
    ChainV,
    ExtV,
    FuncV,
    InstanceV,
    ModelRef,
    PromptRef,
    PromptV,
    Resolver,
    Scope,
    StrV,
)

__all__ = ["ModelCall", "ModelRef", "NodeReport", "PromptRef", "inspect_app"]

_MAX_HELPER_DEPTH = 3
_PROMPT_NAME_HINTS = ("PROMPT", "INSTRUCTION", "SYSTEM", "TEMPLATE")


@dataclass(frozen=True, kw_only=True)
class ModelCall:
    """One place a node calls a model: `via` names the helper function it goes through."""

    file: str
    line: int
    method: str
    via: str | None
    model: ModelRef
    prompts: list[PromptRef]


@dataclass(frozen=True, kw_only=True)
class NodeReport:
    """A graph node and the model calls found in it (empty when it calls none)."""

    graph: str
    node: str
    file: str
    function: str
    line: int
    model_calls: list[ModelCall]

    @property
    def calls_model(self) -> bool:
        return bool(self.model_calls)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["calls_model"] = self.calls_model
        return data


class _NodeAnalyser:
    def __init__(self, resolver: Resolver) -> None:
        self.resolver = resolver

    def function_calls(self, fv: FuncV, bindings: dict[str, tuple[ast.expr, Scope]] | None = None,
                       via: str | None = None, depth: int = 0,
                       seen: frozenset[int] = frozenset()) -> list[ModelCall]:
        """Model calls made by a function, following calls into the application's own helpers."""
        func, module = fv.func, fv.module
        scope = self.resolver.function_scope(func, module, bindings)
        calls: list[ModelCall] = []
        body_prompts = self._body_prompts(func, scope)
        for node in ast.walk(func):
            if not isinstance(node, ast.Call):
                continue
            if isinstance(node.func, ast.Attribute) and node.func.attr in CALL_METHODS:
                target = self.resolver.value(node.func.value, scope)
                if isinstance(target, ModelRef | ChainV):
                    model = target.model if isinstance(target, ChainV) else target
                    prompts = list(target.prompts) if isinstance(target, ChainV) else []
                    args = [*node.args, *(k.value for k in node.keywords)]
                    prompts += [p for p in self.resolver.prompts_of(args, scope, 0) if p not in prompts]
                    if not prompts:
                        prompts = body_prompts
                    calls.append(ModelCall(file=str(module.path), line=node.lineno, method=node.func.attr, via=via,
                                           model=model, prompts=prompts))
                    continue
            if depth >= _MAX_HELPER_DEPTH:
                continue
            callee = self.resolver.value(node.func, scope)
            if isinstance(callee, FuncV) and not isinstance(callee.func, ast.Lambda) and id(callee.func) not in seen:
                params = [a.arg for a in [*callee.func.args.posonlyargs, *callee.func.args.args]]
                inner = {p: (arg, scope) for p, arg in zip(params, node.args, strict=False)}
                inner.update({k.arg: (k.value, scope) for k in node.keywords if k.arg})
                calls.extend(self.function_calls(callee, inner, via or callee.func.name, depth + 1,
                                                 seen | {id(func)}))
        return calls

    def _body_prompts(self, func: ast.AST, scope: Scope) -> list[PromptRef]:
        """Prompts a function refers to anywhere in its body, for calls whose arguments
        (e.g. a `messages` list built earlier) do not show them directly."""
        found: list[PromptRef] = []
        for node in ast.walk(func):
            if not isinstance(node, ast.Name) or not isinstance(node.ctx, ast.Load):
                continue
            v = self.resolver.value(node, scope)
            refs: tuple[PromptRef, ...] = ()
            if isinstance(v, PromptV):
                refs = v.prompts
            elif isinstance(v, StrV) and v.name and any(h in v.name.upper() for h in _PROMPT_NAME_HINTS):
                refs = self.resolver.prompts_of([node], scope, 0)
            found.extend(r for r in refs if r not in found)
        return found


def _enclosing_scopes(resolver: Resolver, module: ModuleInfo) -> list[tuple[ast.Call, Scope]]:
    """Every call in the module with the scope of the function it sits in."""
    out: list[tuple[ast.Call, Scope]] = []

    def visit(node: ast.AST, scope: Scope) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                visit(child, resolver.function_scope(child, module))
                continue
            if isinstance(child, ast.Call):
                out.append((child, scope))
            visit(child, scope)

    visit(module.tree, resolver.module_scope(module))
    return out


def _receiver_name(expr: ast.expr) -> str:
    while isinstance(expr, ast.Call | ast.Attribute):
        expr = expr.func if isinstance(expr, ast.Call) else expr.value
    return expr.id if isinstance(expr, ast.Name) else "graph"


def _add_node_parts(call: ast.Call) -> tuple[str | None, ast.expr | None]:
    kwargs = {k.arg: k.value for k in call.keywords if k.arg}
    args = list(call.args)
    first = args[0] if args else kwargs.get("node")
    if isinstance(first, ast.Constant) and isinstance(first.value, str):
        action = args[1] if len(args) > 1 else kwargs.get("action")
        return first.value, action
    return None, first


def _action_name(expr: ast.expr | None) -> str:
    if isinstance(expr, ast.Call) and expr.args:
        return _action_name(expr.args[0])
    if isinstance(expr, ast.Name):
        return expr.id
    if isinstance(expr, ast.Attribute):
        return expr.attr
    return "<expression>"


def _bound_expr(expr: ast.expr | None, scope: Scope) -> ast.expr | None:
    """The expression a name was assigned (in the function or the module), else `expr`."""
    if isinstance(expr, ast.Name):
        if expr.id in scope.names:
            return scope.names[expr.id][0]
        return scope.module.assigns.get(expr.id, expr)
    return expr


def _tool_functions(resolver: Resolver, action: ast.expr | None, scope: Scope) -> list[FuncV] | None:
    """The tool functions of a `ToolNode([...])` node (their model calls are the node's), else None."""
    bound = _bound_expr(action, scope)
    if not isinstance(bound, ast.Call) or not bound.args:
        return None
    callee = resolver.value(bound.func, scope)
    if not (isinstance(callee, ExtV) and callee.qual.endswith("ToolNode")):
        return None
    listed = _bound_expr(bound.args[0], scope)
    elts = listed.elts if isinstance(listed, ast.List | ast.Tuple) else []
    return [v for v in (resolver.value(e, scope) for e in elts) if isinstance(v, FuncV)]


def _subgraph_name(action: ast.expr | None, scope: Scope) -> str | None:
    """`sub_builder.compile()` used as a node: the builder's name."""
    bound = _bound_expr(action, scope)
    if isinstance(bound, ast.Call) and isinstance(bound.func, ast.Attribute) and bound.func.attr == "compile":
        return _receiver_name(bound.func.value)
    return None


def _node_report(analyser: _NodeAnalyser, graph: str, name: str | None, action: ast.expr | None,
                 call: ast.Call, scope: Scope) -> NodeReport:
    file = str(scope.module.path)
    value = analyser.resolver.value(action, scope)
    if isinstance(value, InstanceV):  # a class instance with __call__ as the node
        method = class_method(value.cls, "__call__")
        if method is not None:
            bindings = {"self": (action, scope)} if action is not None else {}
            return NodeReport(graph=graph, node=name or value.cls.name, file=str(value.module.path),
                              function=f"{value.cls.name}.__call__", line=method.lineno,
                              model_calls=analyser.function_calls(FuncV(method, value.module), bindings))
    tools = _tool_functions(analyser.resolver, action, scope)
    if tools is not None:
        in_tools = [c for tool in tools if not isinstance(tool.func, ast.Lambda)
                    for c in analyser.function_calls(tool, via=f"tool {tool.func.name}")]
        return NodeReport(graph=graph, node=name or "tools", file=file, function="ToolNode", line=call.lineno,
                          model_calls=in_tools)
    sub = _subgraph_name(action, scope)
    if sub is not None:  # filled in with the subgraph's calls once every node is known
        return NodeReport(graph=graph, node=name or sub, file=file, function=f"subgraph {sub}", line=call.lineno,
                          model_calls=[])
    if isinstance(value, FuncV):
        func = value.func
        fname = "<lambda>" if isinstance(func, ast.Lambda) else func.name
        return NodeReport(graph=graph, node=name or fname, file=str(value.module.path), function=fname,
                          line=func.lineno, model_calls=analyser.function_calls(value))
    calls: list[ModelCall] = []
    if isinstance(value, ChainV | ModelRef):  # a runnable used directly as the node
        model = value.model if isinstance(value, ChainV) else value
        prompts = list(value.prompts) if isinstance(value, ChainV) else []
        calls.append(ModelCall(file=file, line=call.lineno, method="node", via=None, model=model, prompts=prompts))
    label = _action_name(action)
    return NodeReport(graph=graph, node=name or label, file=file, function=label, line=call.lineno,
                      model_calls=calls)


def inspect_app(path: Path) -> tuple[list[NodeReport], list[str]]:
    """Read the Python files under `path` and report every LangGraph node, in source order,
    with the model calls found in it; the second list holds files that could not be parsed.

    Raises ConfigError when `path` does not exist or holds no Python files.
    """
    if not path.exists():
        raise ConfigError(f"{path}: no such file or folder; give the LangGraph application's folder or file")
    index = build_index(path)
    if not index.modules and not index.problems:
        raise ConfigError(f"{path}: no Python files found")
    resolver = Resolver(index)
    analyser = _NodeAnalyser(resolver)
    reports: list[NodeReport] = []
    for module in index.modules.values():
        if not module.uses_langgraph:
            continue
        reports.extend(_functional_nodes(analyser, module))
        calls = _enclosing_scopes(resolver, module)
        in_add_node: set[int] = set()
        for call, scope in calls:
            if isinstance(call.func, ast.Attribute) and call.func.attr == "add_sequence" and call.args:
                steps = _bound_expr(call.args[0], scope)
                for step in steps.elts if isinstance(steps, ast.List | ast.Tuple) else []:
                    label: ast.expr | None = None
                    action: ast.expr | None = step
                    if isinstance(step, ast.Tuple) and len(step.elts) == 2:  # ("name", function)
                        label, action = step.elts
                    step_name = label.value if isinstance(label, ast.Constant) and isinstance(label.value, str) \
                        else None
                    reports.append(_node_report(analyser, _receiver_name(call.func.value), step_name, action, call,
                                                scope))
                continue
            if isinstance(call.func, ast.Attribute) and call.func.attr == "add_node":
                name, action = _add_node_parts(call)
                in_add_node.update(id(n) for n in ast.walk(call))
                if isinstance(action, ast.Name):  # `agent = create_react_agent(...)` wired by name
                    bound = scope.names.get(action.id, (module.assigns.get(action.id), scope))[0]
                    if bound is not None:
                        in_add_node.update(id(n) for n in ast.walk(bound))
                action_value = resolver.value(action, scope)
                if isinstance(action_value, FuncV):
                    in_add_node.update(id(n) for n in ast.walk(action_value.func))
                reports.append(_node_report(analyser, _receiver_name(call.func.value), name, action, call, scope))
        for call, scope in calls:
            # An agent built inside a node is that node's model call, not a node of its own.
            if id(call) in in_add_node:
                continue
            callee = resolver.value(call.func, scope)
            if isinstance(callee, ExtV) and callee.qual.split(".")[-1] in AGENT_FACTORIES:
                reports.append(_node_report(analyser, callee.qual.split(".")[-1], "agent", call, call, scope))
    return _with_subgraph_calls(reports), index.problems


def _with_subgraph_calls(reports: list[NodeReport]) -> list[NodeReport]:
    """A compiled subgraph used as a node calls what its own nodes call."""
    out = []
    for report in reports:
        if report.function.startswith("subgraph "):
            sub = report.function.split(" ", 1)[1]
            calls = [dataclasses.replace(c, via=c.via or f"subgraph {sub}, node {r.node}")
                     for r in reports if r.graph == sub and r is not report for c in r.model_calls]
            report = dataclasses.replace(report, model_calls=calls)
        out.append(report)
    return out


_FUNCTIONAL = {"task", "entrypoint"}


def _functional_nodes(analyser: _NodeAnalyser, module: ModuleInfo) -> list[NodeReport]:
    """Functions decorated with LangGraph's functional API (`@task`, `@entrypoint(...)`)."""
    out: list[NodeReport] = []
    scope = analyser.resolver.module_scope(module)
    for func in [n for n in ast.walk(module.tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]:
        for decorator in func.decorator_list:
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            value = analyser.resolver.value(target, scope)
            if isinstance(value, ExtV) and value.qual.startswith("langgraph") and \
                    value.qual.split(".")[-1] in _FUNCTIONAL:
                kind = value.qual.split(".")[-1]
                out.append(NodeReport(graph=f"@{kind}", node=func.name, file=str(module.path), function=func.name,
                                      line=func.lineno, model_calls=analyser.function_calls(FuncV(func, module))))
                break
    return out
