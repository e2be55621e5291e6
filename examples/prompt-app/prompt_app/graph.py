"""Support triage: clean -> classify (router model) -> answer (writer model) -> finish.

Run with a real model (needs the `llm` extra and OPENAI_API_KEY) or offline with
PROMPT_APP_FAKE=1.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TypedDict

from langchain_core.messages import HumanMessage, SystemMessage
from langchain_core.prompts import ChatPromptTemplate
from langgraph.graph import END, START, StateGraph

PROMPTS = Path(__file__).parent / "prompts"
ROUTER_MODEL = os.environ.get("PROMPT_APP_ROUTER_MODEL", "openai:gpt-4o-mini")
WRITER_MODEL = os.environ.get("PROMPT_APP_WRITER_MODEL", "openai:gpt-4o")


class State(TypedDict, total=False):
    question: str
    category: str
    draft: str
    reply: str


def chat_model(name: str, temperature: float):
    """The real model, or the offline simulation when PROMPT_APP_FAKE is set."""
    if os.environ.get("PROMPT_APP_FAKE"):
        from prompt_app.simulated import SimulatedChatModel

        return SimulatedChatModel(model_name=name, temperature=temperature)
    from langchain.chat_models import init_chat_model

    return init_chat_model(name, temperature=temperature)


classify_prompt = ChatPromptTemplate.from_messages(
    [("system", (PROMPTS / "classify.txt").read_text(encoding="utf-8")), ("human", "{question}")]
)
router = classify_prompt | chat_model(ROUTER_MODEL, temperature=0.0)


def clean(state: State) -> State:
    return {"question": " ".join(state["question"].split())}


def classify(state: State) -> State:
    label = router.invoke({"question": state["question"]}).content.strip().lower()
    return {"category": label or "other"}


def answer(state: State) -> State:
    writer = chat_model(WRITER_MODEL, temperature=0.7).bind(max_tokens=200)
    system = (PROMPTS / "answer.txt").read_text(encoding="utf-8")
    message = writer.invoke([
        SystemMessage(content=system),
        HumanMessage(content=f"Category: {state['category']}\nQuestion: {state['question']}"),
    ])
    return {"draft": message.content}


def finish(state: State) -> State:
    return {"reply": state["draft"].strip()}


def build_graph():
    builder = StateGraph(State)
    builder.add_node(clean)
    builder.add_node(classify)
    builder.add_node("answer", answer)
    builder.add_node("finish", finish)
    builder.add_edge(START, "clean")
    builder.add_edge("clean", "classify")
    builder.add_edge("classify", "answer")
    builder.add_edge("answer", "finish")
    builder.add_edge("finish", END)
    return builder.compile()


graph = build_graph()
