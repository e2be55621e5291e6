"""Safe conditions and templates: jinja2's sandbox, never eval (DESIGN 3.3).

Packs are untrusted, so the sandbox also has a budget: `include`, `import` and `extends` are
refused (a template cannot pull in other files), every render and every condition has a time
and size budget (loop iterations, calls, output length), `**`, `*` and `%` refuse results that
would be huge, and every failure inside a template or an expression (division by zero, a range
too large, runaway recursion) is an ExpressionError, never a traceback."""

from __future__ import annotations

import contextvars
import math
import re
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import TemplateError, Undefined, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import Namespace
from jinja2.visitor import NodeTransformer

TIME_BUDGET_S = 2.0
MAX_STEPS = 1_000_000  # loop iterations plus calls in one render or evaluation
MAX_OUTPUT = 2_000_000  # characters a template may produce, and the largest string or list it may build
MAX_INT_BITS = 4096
MAX_SOURCE = 1_000_000  # characters of template or expression source
_FORMAT_WIDTH = re.compile(r"%[-+ #0]*(\d{5,}|\*)|\{[^{}]*:[^{}]*\d{5,}[^{}]*\}")
_FAILURES = (TemplateError, ArithmeticError, RecursionError, MemoryError, ValueError, TypeError,
             LookupError, AttributeError)


class ExpressionError(ValueError):
    """An expression or template that does not parse or cannot be evaluated."""


@dataclass
class _Budget:
    deadline: float
    steps: int = 0

    def spend(self, steps: int = 1) -> None:
        self.steps += steps
        if self.steps > MAX_STEPS:
            raise ExpressionError(f"does more than {MAX_STEPS:,} loop iterations and calls; simplify it")
        if self.steps % 1024 == 0 and time.monotonic() > self.deadline:
            raise ExpressionError(f"ran longer than {TIME_BUDGET_S:g} s; simplify it")


_budget: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar("cairn_sandbox_budget", default=None)


def _spend(steps: int = 1) -> None:
    budget = _budget.get()
    if budget is not None:
        budget.spend(steps)


def _check_size(value: Any) -> Any:
    if isinstance(value, str | list | tuple | bytes) and len(value) > MAX_OUTPUT:
        raise ExpressionError(f"builds a value of {len(value):,} items, over the limit of {MAX_OUTPUT:,}")
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > MAX_INT_BITS:
        raise ExpressionError(f"builds an integer of more than {MAX_INT_BITS} bits")
    return value


def _budget_iter(value: Any) -> Iterator[Any]:
    """What a `{% for %}` loop iterates over: the same items, each one paid for."""
    if isinstance(value, Undefined):
        yield from value
        return
    for item in value:
        _spend()
        yield item


class _SizedNamespace(Namespace):
    """`namespace()` whose attributes cannot grow past the size limit (a loop doubling a string)."""

    def __setitem__(self, name: str, value: Any) -> None:
        super().__setitem__(name, _check_size(value))


class _Sandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset(["**", "*", "%", "+"])

    def __init__(self) -> None:
        super().__init__(undefined=Undefined, keep_trailing_newline=True)
        self.filters["_cairn_iter"] = _budget_iter
        self.filters["_cairn_size"] = _check_size
        self.globals["namespace"] = _SizedNamespace
        for name, function in list(self.filters.items()):
            if not name.startswith("_cairn"):
                self.filters[name] = _guarded_filter(name, function)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        _spend()
        if operator == "**":
            _check_power(left, right)
        elif operator == "*":
            _check_product(left, right)
        elif operator == "%" and isinstance(left, str) and _FORMAT_WIDTH.search(left):
            raise ExpressionError("a % format with a width of 10,000 or more; use a smaller width")
        return _check_size(super().call_binop(context, operator, left, right))

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        _spend()
        _check_call(__obj, args, kwargs)
        return _check_size(super().call(__context, __obj, *args, **kwargs))

    def _generate(self, source: nodes.Template, name: str | None, filename: str | None,
                  defer_init: bool = False) -> str:
        _refuse_other_files(source, name)
        _Instrument().visit(source)
        return super()._generate(source, name, filename, defer_init)


# Filters and str methods whose numeric arguments are sizes of the result (`center(10**9)`).
_SIZED = frozenset({"center", "indent", "truncate", "wordwrap", "batch", "slice", "ljust", "rjust", "zfill",
                    "expandtabs", "format"})


def _guarded_filter(name: str, function: Any) -> Any:
    """A built-in filter that refuses huge size arguments and huge results."""
    from functools import wraps

    from jinja2.utils import _PassArg

    skip = 2 if _PassArg.from_obj(function) is not None else 1  # the context/environment, then the value

    @wraps(function)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        _spend()
        if name == "format":
            _check_arguments(args[skip - 1:], kwargs, numbers=False)
        elif name in _SIZED:
            _check_arguments(args[skip:], kwargs)
        if name == "replace" and len(args) > skip + 1:
            _check_replace(args[skip - 1], args[skip], args[skip + 1])
        return _check_size(function(*args, **kwargs))

    return guarded


def _check_call(obj: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    name = getattr(obj, "__name__", "")
    # The sandbox hands out str.format wrapped; the string it formats is on the wrapped method.
    subject = getattr(obj, "__self__", None) or getattr(getattr(obj, "__wrapped__", None), "__self__", None)
    if name in ("format", "format_map"):
        _check_arguments((subject, *args), kwargs, numbers=False)
    elif name in _SIZED:
        _check_arguments(args, kwargs)
    if name == "replace" and len(args) > 1:
        _check_replace(subject, args[0], args[1])


def _check_replace(subject: Any, old: Any, new: Any) -> None:
    if isinstance(subject, str) and isinstance(old, str) and isinstance(new, str) and old:
        if subject.count(old) * len(new) > MAX_OUTPUT:
            raise ExpressionError(f"the replacement would build more than {MAX_OUTPUT:,} characters")


def _check_arguments(args: Iterable[Any], kwargs: Mapping[str, Any], *, numbers: bool = True) -> None:
    for value in [*args, *kwargs.values()]:
        if numbers and isinstance(value, int | float) and not isinstance(value, bool) and abs(value) > MAX_OUTPUT:
            raise ExpressionError(f"a size argument of {value:.3g} is over the limit of {MAX_OUTPUT:,}")
        if isinstance(value, str) and _FORMAT_WIDTH.search(value):
            raise ExpressionError("a format with a width of 10,000 or more; use a smaller width")


def _check_power(base: Any, exponent: Any) -> None:
    if isinstance(base, int | float) and isinstance(exponent, int | float):
        if isinstance(base, int) and isinstance(exponent, int) and abs(base) > 1 and exponent > 0:
            if exponent * math.log2(abs(base)) > MAX_INT_BITS:
                raise ExpressionError(f"{base} ** {exponent} is too large (over {MAX_INT_BITS} bits)")
        elif abs(exponent) > MAX_INT_BITS:
            raise ExpressionError(f"the exponent {exponent} is too large")


def _check_product(left: Any, right: Any) -> None:
    for seq, times in ((left, right), (right, left)):
        if isinstance(seq, str | list | tuple) and isinstance(times, int) and len(seq) * times > MAX_OUTPUT:
            raise ExpressionError(f"repeating {len(seq):,} items {times:,} times is over the limit of {MAX_OUTPUT:,}")
    if isinstance(left, int) and isinstance(right, int) and left.bit_length() + right.bit_length() > MAX_INT_BITS:
        raise ExpressionError(f"the product is too large (over {MAX_INT_BITS} bits)")


def _refuse_other_files(source: nodes.Template, name: str | None) -> None:
    for node in source.find_all((nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends)):
        tag = {nodes.Include: "include", nodes.Import: "import", nodes.FromImport: "from ... import",
               nodes.Extends: "extends"}[type(node)]
        raise ExpressionError(f"{name or 'template'} line {node.lineno}: {{% {tag} %}} is not allowed: a step's "
                              "template must be self-contained (put the shared text in the template itself)")


class _Instrument(NodeTransformer):
    """Make every loop pay for its iterations and every `~` concatenation check its size."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        visited = self.generic_visit(node)
        assert isinstance(visited, nodes.For)
        visited.iter = nodes.Filter(visited.iter, "_cairn_iter", [], [], None, None, lineno=node.lineno)
        return visited

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        visited = self.generic_visit(node)
        assert isinstance(visited, nodes.Expr)
        return nodes.Filter(visited, "_cairn_size", [], [], None, None, lineno=node.lineno)


_ENV = _Sandbox()


def _run(what: str, action: Any) -> Any:
    """Run `action` with a fresh budget (nested calls share the outer one)."""
    if _budget.get() is not None:
        return action()
    token = _budget.set(_Budget(deadline=time.monotonic() + TIME_BUDGET_S))
    try:
        return action()
    except ExpressionError:
        raise
    except RecursionError:
        raise ExpressionError(f"cannot evaluate {what}: it recurses too deeply") from None
    except MemoryError:
        raise ExpressionError(f"cannot evaluate {what}: it needs too much memory") from None
    finally:
        _budget.reset(token)


@lru_cache(maxsize=512)
def _compiled(expression: str) -> Any:
    if len(expression) > MAX_SOURCE:
        raise ExpressionError(f"expression of {len(expression):,} characters is too long")
    try:
        return _ENV.compile_expression(expression)
    except ExpressionError:
        raise
    except TemplateError as exc:
        raise ExpressionError(f"cannot parse expression {expression!r}: {exc}") from None
    except (RecursionError, MemoryError):
        raise ExpressionError(f"cannot parse expression {expression[:60]!r}…: nested too deeply") from None


def check_expression(expression: str) -> None:
    """Raise ExpressionError when `expression` does not parse."""
    _compiled(expression)


def evaluate(expression: str, variables: Mapping[str, Any]) -> bool:
    """Evaluate a condition such as `architecture == 'rag-only'` to a bool (False when it reads
    something undefined). Raises ExpressionError."""
    return bool(value_of(expression, variables))


def value_of(expression: str, variables: Mapping[str, Any]) -> Any:
    """Evaluate an expression to its value (None when it reads something undefined), in the same
    sandbox and budget as `evaluate`. Raises ExpressionError."""
    def run() -> Any:
        try:
            return _compiled(expression)(**variables)
        except ExpressionError:
            raise
        except _FAILURES as exc:
            raise ExpressionError(f"cannot evaluate {expression!r}: {_describe(exc)}") from None

    result = _run(repr(expression), run)
    return None if isinstance(result, Undefined) else result


def render_string(text: str, variables: Mapping[str, Any]) -> str:
    """Render a short inline template (decision choices, story titles)."""
    def run() -> str:
        try:
            return _render(_from_string(text), variables)
        except ExpressionError:
            raise
        except _FAILURES as exc:
            raise ExpressionError(f"cannot render {text[:200]!r}: {_describe(exc)}") from None

    return str(_run(repr(text[:60]), run))


@lru_cache(maxsize=512)
def _from_string(text: str) -> Any:
    if len(text) > MAX_SOURCE:
        raise ExpressionError(f"template of {len(text):,} characters is too long")
    return _ENV.from_string(text)


def check_template_source(source: str, name: str) -> None:
    try:
        if len(source) > MAX_SOURCE:
            raise ExpressionError(f"{name}: {len(source):,} characters is over the limit of {MAX_SOURCE:,}")
        _refuse_other_files(_ENV.parse(source, name=name), name)
    except TemplateError as exc:
        line = getattr(exc, "lineno", None)
        where = f" line {line}" if line else ""
        raise ExpressionError(f"{name}{where}: {exc}") from None
    except (RecursionError, MemoryError):
        raise ExpressionError(f"{name}: nested too deeply to parse") from None


@lru_cache(maxsize=128)
def _template(path: Path, mtime: float) -> Any:
    from workflow.fileio import read_text_checked

    return _ENV.from_string(read_text_checked(path, max_bytes=MAX_SOURCE))


def render_template(path: Path, variables: Mapping[str, Any]) -> str:
    """Render a template file in the sandbox. Raises ExpressionError (also for a template that
    is a symlink out of its folder, or not UTF-8 text)."""
    from workflow.containment import is_inside
    from workflow.errors import UnreadableFileError

    if path.is_symlink() and not is_inside(path, path.parent):
        raise ExpressionError(f"{path.name}: a symbolic link out of the templates folder; copy the file in instead")

    def run() -> str:
        try:
            return _render(_template(path, path.stat().st_mtime), variables)
        except (ExpressionError, UnreadableFileError) as exc:
            raise ExpressionError(str(exc)) from None
        except OSError as exc:
            raise ExpressionError(f"{path.name}: cannot be read ({exc.strerror or exc})") from None
        except _FAILURES as exc:
            line = getattr(exc, "lineno", None)
            where = f" line {line}" if line else ""
            raise ExpressionError(f"{path.name}{where}: {_describe(exc)}") from None

    return str(_run(path.name, run))


def _render(template: Any, variables: Mapping[str, Any]) -> str:
    """Render by chunks so a template producing too much text stops at the limit."""
    chunks: list[str] = []
    size = 0
    for chunk in template.generate(**variables):
        size += len(chunk)
        if size > MAX_OUTPUT:
            raise ExpressionError(f"produces more than {MAX_OUTPUT:,} characters; shorten the template")
        _spend()
        chunks.append(chunk)
    return "".join(chunks)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ZeroDivisionError):
        return "division by zero"
    if isinstance(exc, OverflowError):
        return f"a number or range too large ({exc})"
    return str(exc) or type(exc).__name__


__all__ = ["ExpressionError", "check_expression", "check_template_source",
           "evaluate", "render_string", "value_of", "render_template"]
