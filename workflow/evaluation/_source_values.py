"""What an expression in the application's source stands for, as far as `eval inspect`
cares: a chat model, a `prompt | model` chain, a prompt, a string, a path, a function.
Names are followed through assignments, function parameters and imports."""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from workflow.evaluation._source_index import ModuleInfo, SourceIndex, class_attribute

CALL_METHODS = {"invoke", "ainvoke", "stream", "astream", "batch", "abatch", "astream_events",
                "batch_as_completed", "abatch_as_completed"}
# Methods that return a configured copy of a model (or chain) that still calls the same model.
_WRAPPERS = {"with_structured_output", "bind_tools", "bind", "with_retry", "with_config", "with_fallbacks",
             "configurable_fields", "configurable_alternatives", "with_types", "with_listeners"}
_PROMPT_CLASSES = {"ChatPromptTemplate", "PromptTemplate", "SystemMessagePromptTemplate",
                   "HumanMessagePromptTemplate", "MessagesPlaceholder", "FewShotChatMessagePromptTemplate"}
_MESSAGE_CLASSES = {"SystemMessage", "HumanMessage", "AIMessage", "ChatMessage"}
_PROMPT_USES = {"format_messages", "format", "format_prompt", "invoke", "partial", "strip", "replace"}
_MODEL_KWARGS = ("model", "model_name", "model_id", "repo_id", "deployment_name", "azure_deployment")
AGENT_FACTORIES = {"create_react_agent", "create_agent"}
_MAX_DEPTH = 12


@dataclass(frozen=True, kw_only=True)
class PromptRef:
    """Where a prompt comes from: `inline` text, a prompt `template`, or a `file`."""

    kind: str
    text: str
    name: str | None
    file: str
    line: int


@dataclass(frozen=True, kw_only=True)
class ModelRef:
    """A chat model as constructed in the source; `model` is None when not visible."""

    cls: str
    model: str | None
    binding: str
    file: str
    line: int


@dataclass(frozen=True)
class ChainV:
    model: ModelRef
    prompts: tuple[PromptRef, ...] = ()


@dataclass(frozen=True)
class PromptV:
    prompts: tuple[PromptRef, ...]


@dataclass(frozen=True)
class StrV:
    text: str
    name: str | None
    file: str
    line: int


@dataclass(frozen=True)
class PathV:
    path: str
    line: int = 0


@dataclass(frozen=True)
class FileV:
    path: str


@dataclass(frozen=True)
class FuncV:
    func: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
    module: ModuleInfo


@dataclass(frozen=True)
class ModuleV:
    module: ModuleInfo


@dataclass(frozen=True)
class ExtV:
    """A name from a package outside the scanned folder, fully qualified."""

    qual: str


@dataclass(frozen=True)
class ClassV:
    """A class of the application (a configuration dataclass, a node class)."""

    cls: ast.ClassDef
    module: ModuleInfo


@dataclass(frozen=True)
class InstanceV:
    """An instance of an application class: `Context()`, `Configuration.from_runnable_config(config)`,
    `runtime.context`; its attributes read the class's field defaults."""

    cls: ast.ClassDef
    module: ModuleInfo


@dataclass(frozen=True)
class RuntimeV:
    """A LangGraph `Runtime[Context]` parameter: `.context` is an instance of the context class."""

    context: ClassV | None


@dataclass(frozen=True)
class RtV:
    """A value only known at run time (a config lookup, a parameter), kept as its source text."""

    expr: str


Value = (ModelRef | ChainV | PromptV | StrV | PathV | FileV | FuncV | ModuleV | ExtV | ClassV | InstanceV | RuntimeV
         | RtV)


@dataclass(kw_only=True)
class Scope:
    """Local bindings (each with the scope its expression must be read in) over a module."""

    module: ModuleInfo
    names: dict[str, tuple[ast.expr, Scope]] = field(default_factory=dict)


def snippet(text: str, limit: int = 120) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class Resolver:
    """Evaluates expressions symbolically over a SourceIndex."""

    def __init__(self, index: SourceIndex) -> None:
        self.index = index

    def module_scope(self, module: ModuleInfo) -> Scope:
        return Scope(module=module)

    def function_scope(self, func: ast.AST, module: ModuleInfo,
                       bindings: dict[str, tuple[ast.expr, Scope]] | None = None) -> Scope:
        from workflow.evaluation._source_index import local_assigns

        scope = Scope(module=module, names=dict(bindings or {}))
        for name, expr in local_assigns(func).items():
            scope.names.setdefault(name, (expr, scope))
        if isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            # An annotated parameter (`runtime: Runtime[Context]`, `config: Configuration`) stands
            # for an instance of its annotation: its attributes read that class's defaults.
            outer = Scope(module=module)
            params = [*func.args.posonlyargs, *func.args.args, *func.args.kwonlyargs]
            for arg in params:
                if arg.annotation is not None:
                    synthetic = ast.copy_location(ast.Call(func=arg.annotation, args=[], keywords=[]), arg.annotation)
                    scope.names.setdefault(arg.arg, (synthetic, outer))
        return scope

    def lookup(self, name: str, scope: Scope, depth: int) -> Value | None:
        if name in scope.names:
            expr, where = scope.names[name]
            if any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(expr)):
                # `llm = llm.bind_tools(...)`: the right-hand side means the outer binding.
                where = Scope(module=where.module, names={k: v for k, v in where.names.items() if k != name})
            return self._named(self.value(expr, where, depth + 1), name)
        module = scope.module
        if name == "__file__":
            return PathV(str(module.path.resolve()))
        if name in module.assigns:
            return self._named(self.value(module.assigns[name], self.module_scope(module), depth + 1), name)
        if name in module.functions:
            return FuncV(module.functions[name], module)
        if name in module.classes:
            return ClassV(module.classes[name], module)
        if name in module.imports:
            source, attr = module.imports[name]
            target = self.index.find_module(source if attr is None else f"{source}.{attr}")
            if target is not None:
                return ModuleV(target)
            if attr is None:
                return ExtV(source)
            found = self.index.find_module(source)
            if found is not None:
                return self.lookup(attr, self.module_scope(found), depth + 1)
            return ExtV(f"{source}.{attr}")
        if name == "open":
            return ExtV("builtins.open")
        return None

    @staticmethod
    def _named(value: Value | None, name: str) -> Value | None:
        if isinstance(value, StrV) and value.name is None:
            return replace(value, name=name)
        if isinstance(value, PromptV):
            return PromptV(tuple(p if p.name else replace(p, name=name) for p in value.prompts))
        return value

    def value(self, expr: ast.expr | None, scope: Scope, depth: int = 0) -> Value | None:
        """What `expr` stands for, or None when it is nothing inspect tracks."""
        if expr is None or depth > _MAX_DEPTH:
            return None
        file = str(scope.module.path)
        line = getattr(expr, "lineno", 0)
        if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
            return StrV(expr.value, None, file, line)
        if isinstance(expr, ast.JoinedStr):
            text = "".join(str(v.value) if isinstance(v, ast.Constant) else "{" + ast.unparse(v.value) + "}"
                           for v in expr.values if isinstance(v, ast.Constant | ast.FormattedValue))
            return StrV(text, None, file, line)
        if isinstance(expr, ast.Name):
            return self.lookup(expr.id, scope, depth)
        if isinstance(expr, ast.Await):
            return self.value(expr.value, scope, depth + 1)
        if isinstance(expr, ast.Attribute):
            return self._attribute(expr, scope, depth)
        if isinstance(expr, ast.Call):
            return self._call(expr, scope, depth)
        if isinstance(expr, ast.BinOp):
            return self._binop(expr, scope, depth)
        if isinstance(expr, ast.IfExp):
            return self._choice(self.value(expr.body, scope, depth + 1), self.value(expr.orelse, scope, depth + 1))
        if isinstance(expr, ast.List | ast.Tuple):
            prompts = self.message_prompts(expr, scope, depth)
            return PromptV(prompts) if prompts else None
        if isinstance(expr, ast.Lambda):
            return FuncV(expr, scope.module)
        if isinstance(expr, ast.Subscript):
            base = self.value(expr.value, scope, depth + 1)
            if isinstance(base, ExtV) and base.qual.split(".")[-1] == "Runtime":  # Runtime[Context]
                ctx = self.value(expr.slice, scope, depth + 1)
                return RuntimeV(ctx if isinstance(ctx, ClassV) else None)
            if isinstance(base, ModuleV | PromptV | StrV | PathV | FileV | FuncV | ModelRef | ChainV):
                return None
            return RtV(ast.unparse(expr))
        return None

    def _attribute(self, expr: ast.Attribute, scope: Scope, depth: int) -> Value | None:
        base = self.value(expr.value, scope, depth + 1)
        if isinstance(base, ModuleV):
            return self.lookup(expr.attr, self.module_scope(base.module), depth + 1)
        if isinstance(base, ExtV):
            return ExtV(f"{base.qual}.{expr.attr}")
        if isinstance(base, PathV) and expr.attr == "parent":
            return PathV(os.path.dirname(base.path))
        if isinstance(base, RuntimeV) and expr.attr == "context":
            return InstanceV(base.context.cls, base.context.module) if base.context else RtV(ast.unparse(expr))
        if isinstance(base, InstanceV | ClassV):
            default = class_attribute(base.cls, expr.attr)
            if default is None:
                return RtV(ast.unparse(expr))
            found = self.value(default, self.module_scope(base.module), depth + 1)
            return self._named(found, expr.attr) if found is not None else RtV(ast.unparse(expr))
        if isinstance(base, RtV):
            return RtV(ast.unparse(expr))
        return None

    @staticmethod
    def _choice(a: Value | None, b: Value | None) -> Value | None:
        """`x if cond else y`: prefer the real model over a test fake, and say there is a switch."""
        if isinstance(a, ModelRef) and isinstance(b, ModelRef):
            real, other = (b, a) if "Fake" in a.cls and "Fake" not in b.cls else (a, b)
            return replace(real, binding=f"{real.binding} (or {other.cls} by a condition)")
        return a if a is not None else b

    def _binop(self, expr: ast.BinOp, scope: Scope, depth: int) -> Value | None:
        left, right = self.value(expr.left, scope, depth + 1), self.value(expr.right, scope, depth + 1)
        if isinstance(expr.op, ast.BitOr):
            parts = [left, right]
            model = next((p.model if isinstance(p, ChainV) else p for p in parts
                          if isinstance(p, ModelRef | ChainV)), None)
            prompts = tuple(q for p in parts if isinstance(p, PromptV | ChainV) for q in p.prompts)
            if model is not None:
                binding = model.binding if " | " in model.binding else f"{model.binding} in a prompt | model chain"
                return ChainV(replace(model, binding=binding), prompts)
            return PromptV(prompts) if prompts else None
        if isinstance(expr.op, ast.Div) and isinstance(left, PathV | StrV):
            base = left.path if isinstance(left, PathV) else left.text
            tail = right.text if isinstance(right, StrV) else (right.path if isinstance(right, PathV) else "…")
            return PathV(os.path.join(base, tail))
        if isinstance(expr.op, ast.Add | ast.Mod) and isinstance(left, StrV):
            extra = right.text if isinstance(right, StrV) and isinstance(expr.op, ast.Add) else ""
            return StrV(left.text + extra, left.name, left.file, left.line)
        return None

    def _path_of(self, args: list[ast.expr], scope: Scope, depth: int) -> PathV | None:
        parts: list[str] = []
        for arg in args:
            v = self.value(arg, scope, depth + 1)
            parts.append(v.text if isinstance(v, StrV) else v.path if isinstance(v, PathV) else "…")
        return PathV(os.path.join(*parts)) if parts else PathV(".")

    def _file_prompt(self, path: str, scope: Scope, line: int) -> PromptV:
        shown = path
        if os.path.isabs(path):
            try:
                shown = str(Path(os.path.normpath(path)).relative_to(self.index.root.resolve()))
            except ValueError:
                shown = os.path.normpath(path)
        return PromptV((PromptRef(kind="file", text=shown, name=None, file=str(scope.module.path), line=line),))

    def _call(self, call: ast.Call, scope: Scope, depth: int) -> Value | None:
        file, line = str(scope.module.path), call.lineno
        if isinstance(call.func, ast.Attribute):
            method = call.func.attr
            base = self.value(call.func.value, scope, depth + 1)
            if isinstance(base, ModelRef) and method in _WRAPPERS:
                return replace(base, binding=f"{base.binding}.{method}()")
            if isinstance(base, ChainV) and method in _WRAPPERS:
                return ChainV(replace(base.model, binding=f"{base.model.binding}.{method}()"), base.prompts)
            if isinstance(base, PromptV) and method in _PROMPT_USES:
                return base
            if isinstance(base, StrV) and method in _PROMPT_USES:
                return base
            if isinstance(base, FileV) and method in {"read", "readlines"}:
                return self._file_prompt(base.path, scope, line)
            if isinstance(base, ClassV):  # Configuration.from_runnable_config(config), Context.from_context()
                return InstanceV(base.cls, base.module)
            if isinstance(base, RtV) and method == "get" and len(call.args) > 1:
                # config["configurable"].get("model", "openai:gpt-4o"): the default, marked as runtime
                default = self.value(call.args[1], scope, depth + 1)
                if isinstance(default, StrV):
                    return StrV(default.text, "@" + ast.unparse(call), default.file, default.line)
                return RtV(ast.unparse(call))
            if isinstance(base, PathV):
                if method in {"read_text", "read_bytes", "open"}:
                    return self._file_prompt(base.path, scope, line) if method != "open" else FileV(base.path)
                if method in {"resolve", "absolute", "expanduser"}:
                    return base
                if method == "joinpath":
                    tail = self._path_of(call.args, scope, depth)
                    return PathV(os.path.join(base.path, tail.path if tail else ""))
        callee = self.value(call.func, scope, depth + 1)
        if isinstance(callee, ClassV):
            return InstanceV(callee.cls, callee.module)
        if isinstance(callee, RuntimeV):
            return callee
        if isinstance(callee, FuncV) and not isinstance(callee.func, ast.Lambda):
            return self._call_function(callee, call, scope, depth)
        if isinstance(callee, ExtV):
            return self._call_external(callee.qual, call, scope, depth, file, line)
        return None

    def _call_function(self, callee: FuncV, call: ast.Call, scope: Scope, depth: int) -> Value | None:
        """Evaluate a call to one of the application's own functions (a model factory, a
        prompt loader) with its parameters bound to the call's arguments."""
        func = callee.func
        assert not isinstance(func, ast.Lambda)
        params = [a.arg for a in [*func.args.posonlyargs, *func.args.args]]
        bindings: dict[str, tuple[ast.expr, Scope]] = {}
        for name, arg in zip(params, call.args, strict=False):
            bindings[name] = (arg, scope)
        for kw in call.keywords:
            if kw.arg:
                bindings[kw.arg] = (kw.value, scope)
        defaults = func.args.defaults
        inner = self.function_scope(func, callee.module)
        for name, default in zip(params[len(params) - len(defaults):], defaults, strict=False):
            bindings.setdefault(name, (default, inner))
        inner.names.update(bindings)
        found: list[Value] = []
        for node in ast.walk(func):
            if isinstance(node, ast.Return) and node.value is not None:
                v = self.value(node.value, inner, depth + 1)
                if v is not None:
                    found.append(v)
        models = [v for v in found if isinstance(v, ModelRef)]
        if models and (models[0].model is None or models[0].model.startswith("runtime value")):
            # load_chat_model(runtime.context.model): the name is the argument the factory got.
            given = [self.value(a, scope, depth + 1) for a in [*call.args, *(k.value for k in call.keywords)]]
            named = next((g for g in given if isinstance(g, StrV)), None)
            if named is not None:
                models[0] = replace(models[0], model=self._shown_name(named), file=named.file or models[0].file,
                                    line=named.line or models[0].line)
        if len(models) > 1:
            chosen = self._choice(models[0], models[1])
            if isinstance(chosen, ModelRef):
                return replace(chosen, binding=f"{func.name}() -> {chosen.binding}")
        if models:
            return replace(models[0], binding=f"{func.name}() -> {models[0].binding}")
        return found[0] if found else None

    def model_name(self, call: ast.Call, scope: Scope, depth: int) -> str | None:
        expr: ast.expr | None = next((k.value for k in call.keywords if k.arg in _MODEL_KWARGS), None)
        if expr is None and call.args:
            expr = call.args[0]
        v = self.value(expr, scope, depth + 1)
        if not isinstance(v, StrV):
            return f"runtime value: {ast.unparse(expr)}" if expr is not None else None
        name = v.text
        provider = next((k.value for k in call.keywords if k.arg == "model_provider"), None)
        pv = self.value(provider, scope, depth + 1)
        if isinstance(pv, StrV) and ":" not in name:
            name = f"{pv.text}:{name}"
        return self._shown_name(replace(v, text=name))

    @staticmethod
    def _shown_name(v: StrV) -> str:
        """A model name with where it comes from when that is not a literal in the call."""
        if v.name and v.name.startswith("$"):
            return f"{v.text} (env {v.name[1:]})"
        if v.name and v.name.startswith("@"):
            return f"{v.text} (default of runtime value {v.name[1:]})"
        return v.text

    def _call_external(self, qual: str, call: ast.Call, scope: Scope, depth: int, file: str,
                       line: int) -> Value | None:
        parts = qual.split(".")
        last = parts[-1]
        if qual.startswith("langchain") and (last.startswith("Chat") or last.endswith("ChatModel")):
            fake = "Fake" in last
            return ModelRef(cls=last, model=None if fake else self.model_name(call, scope, depth),
                            binding=f"{last}(...)", file=file, line=line)
        if last == "init_chat_model":
            return ModelRef(cls="init_chat_model", model=self.model_name(call, scope, depth),
                            binding="init_chat_model(...)", file=file, line=line)
        if last in AGENT_FACTORIES:
            model_expr = next((k.value for k in call.keywords if k.arg == "model"), call.args[0] if call.args else None)
            model = self.value(model_expr, scope, depth + 1)
            prompt_expr = next((k.value for k in call.keywords if k.arg in {"prompt", "system_prompt"}), None)
            prompts = self.prompts_of([prompt_expr] if prompt_expr else [], scope, depth)
            if isinstance(model, ChainV):
                model = model.model
            if isinstance(model, StrV):  # create_agent("openai:gpt-4o", ...)
                model = ModelRef(cls=last, model=model.text, binding=f"{last}(model string)", file=file, line=line)
            if isinstance(model, ModelRef):
                return ChainV(replace(model, binding=f"{model.binding} in {last}()"), prompts)
            return None
        if any(p in _PROMPT_CLASSES for p in parts):
            parts_found = self.prompts_of(list(call.args) + [k.value for k in call.keywords], scope, depth)
            files = tuple(p for p in parts_found if p.kind == "file")
            text = " / ".join(f"<{p.text}>" if p.kind == "file" else p.text for p in parts_found)
            template = PromptRef(kind="template", text=snippet(text or ast.unparse(call)), name=None, file=file,
                                 line=line)
            return PromptV((template, *files))
        if last in _MESSAGE_CLASSES:
            content = next((k.value for k in call.keywords if k.arg == "content"), call.args[0] if call.args else None)
            return PromptV(self.prompts_of([content] if content else [], scope, depth, role=last))
        if qual == "builtins.open" and call.args:
            path = self._path_of(call.args[:1], scope, depth)
            return FileV(path.path) if path else None
        if last in {"Path", "PurePath"} or qual in {"os.path.join"}:
            return self._path_of(list(call.args), scope, depth)
        if qual in {"os.path.dirname"} and call.args:
            inner = self._path_of(call.args[:1], scope, depth)
            return PathV(os.path.dirname(inner.path)) if inner else None
        if qual in {"os.path.abspath", "os.path.realpath"} and call.args:
            return self._path_of(call.args[:1], scope, depth)
        if qual in {"os.environ.get", "os.getenv"} and call.args:
            var = self.value(call.args[0], scope, depth + 1)
            default = self.value(call.args[1], scope, depth + 1) if len(call.args) > 1 else None
            if isinstance(var, StrV) and isinstance(default, StrV):
                return StrV(default.text, f"${var.text}", file, line)
            return None
        if (qual == "functools.partial" or last == "RunnableLambda") and call.args:
            return self.value(call.args[0], scope, depth + 1)
        if last == "get_runtime":  # get_runtime(Context) in a node
            ctx = self.value(call.args[0], scope, depth + 1) if call.args else None
            return RuntimeV(ctx if isinstance(ctx, ClassV) else None)
        return None

    def message_prompts(self, expr: ast.List | ast.Tuple, scope: Scope, depth: int) -> tuple[PromptRef, ...]:
        out: list[PromptRef] = []
        for elt in expr.elts:
            if isinstance(elt, ast.Tuple) and len(elt.elts) == 2:
                role = self.value(elt.elts[0], scope, depth + 1)
                out.extend(self.prompts_of([elt.elts[1]], scope, depth,
                                           role=role.text if isinstance(role, StrV) else None))
            elif isinstance(elt, ast.Dict):
                content = next((v for k, v in zip(elt.keys, elt.values, strict=True)
                                if isinstance(k, ast.Constant) and k.value == "content"), None)
                out.extend(self.prompts_of([content] if content else [], scope, depth))
            else:
                v = self.value(elt, scope, depth + 1)
                if isinstance(v, PromptV):
                    out.extend(v.prompts)
        return tuple(out)

    def prompts_of(self, exprs: list[ast.expr], scope: Scope, depth: int, *,
                   role: str | None = None) -> tuple[PromptRef, ...]:
        """Prompts that the given expressions (call arguments, message contents) carry."""
        out: list[PromptRef] = []
        for expr in exprs:
            v = self.value(expr, scope, depth + 1)
            if isinstance(v, StrV):
                text = f"[{role}] {v.text}" if role else v.text
                out.append(PromptRef(kind="inline", text=snippet(text), name=v.name if v.name and
                                     not v.name.startswith("$") else None, file=v.file, line=v.line))
            elif isinstance(v, PromptV):
                out.extend(v.prompts)
            elif isinstance(v, ChainV):
                out.extend(v.prompts)
        return tuple(out)
