"""The session graph (DESIGN 5): one step visit per thread.

enter -> knowledge -> ask (one field per interrupt) -> draft -> menu (interrupt) -> complete -> END.
Menu actions loop back (revise -> ask, requery -> knowledge, progress/notes -> menu) or advance.
Every node is a small `state -> Command` function; nothing with side effects runs before an
`interrupt()`; only `complete` writes files. State is plain JSON.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict, cast

from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt

from workflow.engine import Engine
from workflow.llm.usage import with_usage


class SessionState(TypedDict, total=False):
    step: str
    visit: int
    answers: dict[str, Any]
    prefill: dict[str, Any]
    field_error: str | None
    knowledge: list[dict[str, Any]]
    notes: list[str]
    outbox: list[dict[str, Any]]
    draft: dict[str, Any]
    outcome: dict[str, Any] | None
    done: dict[str, Any] | None
    # Tool front ends (MCP): the last command's result, what the assistant contributed to this
    # visit, and a menu choice taken as soon as the draft is ready.
    result: dict[str, Any] | None
    saved: dict[str, str]
    recorded: list[dict[str, Any]]
    added_stories: list[dict[str, Any]]
    queued: dict[str, Any] | None
    usage: dict[str, int]  # tokens the LLM facilitator spent at this visit (sidecar `usage`)
    # Review and checks: the answer that just tripped checks (asked again), the checks raised at
    # this visit, the digest of the drafts last shown in full, reasons given for `confirm` checks,
    # and the check whose acknowledgement the menu is asking for.
    pushback: dict[str, Any] | None
    pushed: list[str]
    reviewed: str | None
    acknowledged: dict[str, str]
    confirming: str | None


def build_graph(engine: Engine, checkpointer: Any) -> Any:
    """Wire the nodes around `engine` (pack, project files, knowledge) and compile."""

    def enter(state: SessionState) -> Command[Literal["knowledge", "complete"]]:
        skip = engine.skip_reason(state["step"])
        if skip is not None:
            return Command(goto="complete", update={"outcome": {"kind": "skip", "reason": skip}})
        return Command(goto="knowledge", update={"outbox": engine.entry_messages(state["step"])})

    def knowledge(state: SessionState) -> Command[Literal["ask"]]:
        results, messages = engine.consult_knowledge(state["step"], state.get("answers") or {})
        return Command(goto="ask", update={"knowledge": results,
                                           "outbox": list(state.get("outbox") or []) + messages})

    def ask(state: SessionState) -> Command[Literal["ask", "knowledge", "draft", "complete"]]:
        question = engine.next_question(_plain(state))
        if question is None:
            return Command(goto="draft")
        reply = interrupt(question)
        if engine.is_command(reply):
            goto, update = engine.take_command(_plain(state), reply, at="ask")
        else:
            goto, update = engine.take_answer(_plain(state), question, reply)
            update = {"result": None, **update}
        return Command(goto=cast(Any, goto), update=with_usage(state, reply, update))

    def draft(state: SessionState) -> Command[Literal["menu"]]:
        return Command(goto="menu", update=engine.draft(_plain(state)))

    def menu(state: SessionState) -> Command[Literal["menu", "ask", "knowledge", "draft", "complete"]]:
        # A choice queued by a command at a question is taken without pausing (no interrupt runs,
        # so a resume cannot land here); otherwise wait for the user.
        queued = state.get("queued")
        reply = queued if queued else interrupt(engine.menu_prompt(_plain(state)))
        if engine.is_command(reply):
            goto, update = engine.take_command(_plain(state), reply, at="menu")
        else:
            goto, update = engine.take_menu_choice(_plain(state), reply)
            update = {"result": None, **update}
        return Command(goto=cast(Any, goto), update=with_usage(state, reply, {**update, "queued": None}))

    def complete(state: SessionState) -> Command[Literal["__end__"]]:
        return Command(goto=cast(Any, END), update={"done": engine.complete(_plain(state)), "outbox": []})

    builder = StateGraph(SessionState)
    builder.add_node("enter", enter)
    builder.add_node("knowledge", knowledge)
    builder.add_node("ask", ask)
    builder.add_node("draft", draft)
    builder.add_node("menu", menu)
    builder.add_node("complete", complete)
    builder.add_edge(START, "enter")
    return builder.compile(checkpointer=checkpointer)


def _plain(state: SessionState) -> dict[str, Any]:
    return cast(dict[str, Any], state)
