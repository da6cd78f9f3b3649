r"""
Liquid templates, rendered strictly and within bounds.

Templates come from marketers and configuration files, and variables from customers, so
rendering is a wall as well as a printer:

- a variable nobody gave is an error naming it, unless the template gives a `default`;
- a template reaches only the data it is given (JSON values, dates, decimals): Liquid has
  no attribute access to Python objects, and no other object reaches it;
- loops, nesting, partials, the output and the work filters do are bounded, so a hostile
  template ends quickly with an error instead of running or growing without end;
- in HTML, every value is escaped; the `safe` filter, which would let one through as is,
  does not exist here;
- the clock is never read: `now` and `today` are the moment rendering was given.

Text without `{{` or `{%` is not a template and is returned as it is, so plain messages
render without python-liquid installed (`pip install 'omnikit[templates]'`). Either way,
line breaks come out as `\n` (`\r\n` and `\r` included), as Liquid writes them.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable, Mapping
from typing import Any

from omnikit.errors import PluginNotFoundError, ValidationError

__all__ = [
    "MAX_LOOP",
    "MAX_OUTPUT",
    "MAX_WORK",
    "is_template",
    "render_template",
]

MAX_LOOP = 10_000
"""The most loop iterations one rendering runs, nested loops multiplied."""

MAX_OUTPUT = 1_000_000
"""The most characters one rendering writes, or any value it builds on the way."""

MAX_WORK = 1_000_000
"""The most work filters do in one rendering: an item of a list is 1, 64 characters are 1."""

MAX_DEPTH = 10
"""How deep partials may render partials."""

_UNSAFE_FILTERS = ("safe",)

_WORK: contextvars.ContextVar[list[int]] = contextvars.ContextVar("omnikit_template_work")


def is_template(source: str) -> bool:
    """Whether *source* has Liquid markup in it; text without is rendered as it is."""
    return "{{" in source or "{%" in source


def _liquid() -> Any:
    try:
        import liquid  # noqa: PLC0415 - an optional dependency, loaded when a template needs it
    except ImportError as exc:
        raise PluginNotFoundError(
            "liquid", (), group="omnikit.templates", extra="templates"
        ) from exc
    return liquid


def render_template(
    source: str,
    scope: Mapping[str, Any],
    *,
    field: str,
    snippets: tuple[tuple[str, str], ...] = (),
    html: bool = False,
) -> str:
    """
    Render the Liquid *source* with the variables of *scope*.

    Args:
        source: The template.
        scope: Its variables, checked personalization data (`now`, `today` among them).
        field: Where the template is (`"overrides.sms.body"`), for errors.
        snippets: The partials `{% render %}` and `{% include %}` find, as (name, source).
        html: Escape every value for HTML.

    Raises:
        ValidationError: If the template is malformed, reads a variable nobody gave, or
            breaks a bound; it names *field* and, for a snippet, the snippet.
        PluginNotFoundError: If the template needs python-liquid and it is not installed.
    """
    if not is_template(source):
        return _newlines(source)
    liquid = _liquid()
    token = _WORK.set([MAX_WORK])
    try:
        return _newlines(str(_parse(source, snippets, html).render(scope)))
    except liquid.exceptions.LiquidError as exc:
        raise ValidationError(f"{field}: {_describe(exc, snippets)}") from None
    except RecursionError:
        raise ValidationError(f"{field}: the template nests too deep") from None
    finally:
        _WORK.reset(token)


def _newlines(text: str) -> str:
    """Every line break as a line feed, as Liquid's output writes them: one text, one cost."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _describe(exc: Any, snippets: tuple[tuple[str, str], ...]) -> str:
    reason = str(exc.args[0]) if exc.args else type(exc).__name__
    if type(exc).__name__ == "TemplateNotFoundError":
        known = ", ".join(repr(name) for name, _ in snippets) or "none"
        return f"no snippet named {reason!r} (the brand has: {known})"
    where = []
    token = getattr(exc, "token", None)
    source = getattr(token, "source", None)
    start = getattr(token, "start_index", -1)
    if isinstance(source, str) and isinstance(start, int) and start >= 0:
        names = [name for name, text in snippets if text == source]
        if names:
            where.append(f"in snippet {names[0]!r}")
        where.append(f"line {source.count(chr(10), 0, start) + 1}")
    return f"{reason} ({', '.join(where)})" if where else reason


@functools.lru_cache(maxsize=256)
def _parse(source: str, snippets: tuple[tuple[str, str], ...], html: bool) -> Any:
    return _environment(snippets, html).from_string(source)


@functools.lru_cache(maxsize=32)
def _environment(snippets: tuple[tuple[str, str], ...], html: bool) -> Any:
    liquid = _liquid()
    env = _environment_class()(
        undefined=liquid.StrictDefaultUndefined,
        loader=liquid.CachingDictLoader(dict(snippets)),
        autoescape=html,
        strict_filters=True,
    )
    for name in _UNSAFE_FILTERS:
        env.filters.pop(name, None)
    env.filters["date"] = _date(env.filters["date"])
    for name, func in list(env.filters.items()):
        env.filters[name] = _guarded(name, func)
    return env


@functools.cache
def _environment_class() -> type:
    _liquid()  # says which extra to install when it is missing
    from liquid import Environment  # noqa: PLC0415 - an optional dependency

    class BoundedEnvironment(Environment):
        loop_iteration_limit = MAX_LOOP
        output_stream_limit = MAX_OUTPUT
        local_namespace_limit = MAX_OUTPUT
        context_depth_limit = MAX_DEPTH
        block_nesting_limit = 30

    return BoundedEnvironment


def _limit(reason: str) -> Exception:
    error: Exception = _liquid().exceptions.ResourceLimitError(reason, token=None)
    return error


def _size(value: object) -> int:
    # `type()`, never `isinstance()`: that reads `__class__`, which an undefined variable
    # answers with an error, and `default` must still see it.
    kind = type(value)
    if issubclass(kind, str):
        return len(str(value)) // 64 + 1
    if issubclass(kind, list | tuple | dict | range):
        return len(value) + 1  # type: ignore[arg-type]  # a sized type, checked above
    return 1


def _charge(amount: int) -> None:
    left = _WORK.get(None)
    if left is None:  # pragma: no cover - filters run only inside render_template
        return
    left[0] -= amount
    if left[0] < 0:
        raise _limit("filter work limit reached")


def _text_length(value: object) -> int:
    return len(str(value)) if issubclass(type(value), str) else 24


def _argument_length(args: tuple[object, ...], index: int, default: int) -> int:
    if len(args) <= index:
        return default
    return len(str(args[index])) if issubclass(type(args[index]), str | int | float) else 24


def _expected_length(name: str, value: object, args: tuple[object, ...]) -> int:
    """An upper bound of the length of what a filter that can multiply text builds."""
    kind = type(value)
    if name == "replace" and issubclass(kind, str) and args:
        text = str(value)
        old = str(args[0]) if issubclass(type(args[0]), str | int | float) else ""
        new = _argument_length(args, 1, 0)
        count = text.count(old) if old else len(text) + 1
        return len(text) + count * max(new - len(old), 0)
    if name == "join" and issubclass(kind, list | tuple | range):
        items: list[object] | tuple[object, ...] | range = value  # type: ignore[assignment]
        return sum(_text_length(item) for item in items) + len(items) * _argument_length(args, 0, 1)
    return 0


def _guarded(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    quadratic = name == "uniq"

    @functools.wraps(func)
    def guarded(value: object, *args: object, **kwargs: object) -> object:
        cost = _size(value) ** 2 if quadratic else _size(value)
        _charge(cost + sum(_size(arg) for arg in args))
        if _expected_length(name, value, args) > MAX_OUTPUT:
            raise _limit(f"{name} would build more than {MAX_OUTPUT} characters")
        result = func(value, *args, **kwargs)
        if issubclass(type(result), str | list | tuple) and len(result) > MAX_OUTPUT:
            raise _limit(f"{name} built more than {MAX_OUTPUT} characters")
        return result

    guarded.__dict__.pop("filter_async", None)  # rendering is synchronous: no unguarded twin
    return guarded


def _date(func: Callable[..., Any]) -> Callable[..., Any]:
    """Liquid's `date` filter, reading `"now"` and `"today"` from the scope, not the clock."""

    def date(value: object, *args: object, context: Any, **kwargs: object) -> object:
        if issubclass(type(value), str) and value in ("now", "today"):
            value = context.resolve(str(value))
        return func(value, *args, **kwargs)

    date.with_context = True  # type: ignore[attr-defined]  # how Liquid passes the context
    date.with_environment = getattr(func, "with_environment", False)  # type: ignore[attr-defined]
    return date
