"""eval inspect reads fixture LangGraph apps (never imports them) and finds the model calls."""

from __future__ import annotations

from pathlib import Path

import pytest

from workflow.errors import ConfigError
from workflow.evaluation.inspection import NodeReport, inspect_app

FIXTURES = Path(__file__).parent / "fixtures"


def _nodes(path: Path) -> dict[str, NodeReport]:
    reports, problems = inspect_app(path)
    assert problems == []
    return {r.node: r for r in reports}


@pytest.fixture(scope="module")
def support_bot() -> dict[str, NodeReport]:
    return _nodes(FIXTURES / "support_bot")


@pytest.fixture(scope="module")
def single_file() -> dict[str, NodeReport]:
    return _nodes(FIXTURES / "single_file")


def test_every_add_node_wiring_is_found_including_add_node_of_a_bare_function(support_bot) -> None:
    assert list(support_bot) == ["normalise", "route", "answer", "polish", "log"]
    assert support_bot["normalise"].function == "normalise"
    assert support_bot["log"].function == "log_result"
    assert {r.graph for r in support_bot.values()} == {"builder"}


def test_nodes_that_call_no_model_are_reported_without_model_calls(support_bot, single_file) -> None:
    assert not support_bot["normalise"].calls_model
    assert not support_bot["log"].calls_model
    assert not single_file["count"].calls_model
    assert not single_file["shout"].calls_model


def test_a_module_level_model_with_structured_output_and_an_env_var_name(support_bot) -> None:
    [call] = support_bot["route"].model_calls
    assert (call.method, call.line, call.via) == ("invoke", 38, None)
    assert call.model.cls == "ChatOpenAI"
    assert call.model.model == "gpt-4o-mini (env SUPPORT_ROUTER_MODEL)"
    assert call.model.binding.endswith(".with_structured_output()")
    assert call.file.endswith("support_bot/graph.py")
    [prompt] = call.prompts
    assert (prompt.kind, prompt.name) == ("inline", "ROUTER_SYSTEM")
    assert "Classify the customer's question" in prompt.text


def test_a_chain_of_a_prompt_file_template_and_a_factory_model_called_with_ainvoke(support_bot) -> None:
    [call] = support_bot["answer"].model_calls
    assert call.method == "ainvoke"
    # The factory returns a fake model under an env switch; the real one is reported.
    assert (call.model.cls, call.model.model) == ("init_chat_model", "openai:gpt-4o")
    assert "writer_model()" in call.model.binding and "FakeListChatModel" in call.model.binding
    assert "prompt | model" in call.model.binding
    kinds = {(p.kind, p.text) for p in call.prompts}
    assert ("file", "prompts/answer.txt") in kinds
    assert any(kind == "template" and "{question}" in text for kind, text in kinds)


def test_a_model_called_in_a_helper_function_is_attributed_to_the_node(support_bot) -> None:
    node = support_bot["polish"]
    [call] = node.model_calls
    assert (call.via, call.line, call.model.cls, call.model.model) == (
        "_rewrite", 55, "ChatAnthropic", "claude-3-5-sonnet-latest")
    assert call.prompts[0].kind == "inline" and call.prompts[0].text.startswith("Rewrite this politely: {text}")


def test_a_prompt_model_parser_chain_used_directly_as_a_node(single_file) -> None:
    [call] = single_file["title"].model_calls
    assert (call.method, call.model.cls, call.model.model) == ("node", "ChatOllama", "llama3.2:3b")
    assert [(p.kind, p.name) for p in call.prompts] == [("template", "title_prompt")]


def test_stream_on_a_model_built_through_a_module_alias_with_a_prompt_read_by_open(single_file) -> None:
    [call] = single_file["summarise"].model_calls
    assert (call.method, call.model.cls, call.model.model) == ("stream", "ChatOpenAI", "gpt-4.1-nano")
    assert [(p.kind, p.text, p.name) for p in call.prompts] == [("file", "prompts/summary.txt", "SUMMARY_PROMPT")]


def test_a_node_imported_from_another_module_with_init_chat_model_and_batch(single_file) -> None:
    node = single_file["translate"]
    assert node.file.endswith("single_file/helpers.py") and node.function == "translate"
    [call] = node.model_calls
    assert (call.method, call.model.model) == ("batch", "mistralai:mistral-small")
    assert call.prompts[0].name == "TRANSLATE_PROMPT"


def test_a_prebuilt_agent_wired_as_a_node_is_reported_once(single_file) -> None:
    [call] = single_file["research"].model_calls
    assert call.model.cls == "ChatOllama" and "create_react_agent" in call.model.binding
    assert call.prompts[0].text == "You research facts. Cite sources."
    assert "agent" not in single_file


def test_a_single_file_can_be_inspected_on_its_own(tmp_path: Path) -> None:
    app = tmp_path / "bot.py"
    app.write_text(
        "from langchain_openai import ChatOpenAI\nfrom langgraph.graph import StateGraph\n"
        "llm = ChatOpenAI(model='gpt-4o')\n"
        "def reply(state):\n    return {'answer': llm.invoke(state['q']).content}\n"
        "g = StateGraph(dict)\ng.add_node('reply', reply)\n",
        encoding="utf-8",
    )
    reports, _ = inspect_app(app)
    assert [(r.node, r.model_calls[0].model.model, r.model_calls[0].prompts) for r in reports] == [
        ("reply", "gpt-4o", [])]


def test_files_that_do_not_parse_are_listed_and_skipped(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("def oops(:\n", encoding="utf-8")
    (tmp_path / "fine.py").write_text("x = 1\n", encoding="utf-8")
    reports, problems = inspect_app(tmp_path)
    assert reports == []
    assert len(problems) == 1 and "broken.py:1: skipped, cannot parse (SyntaxError)" in problems[0]


def test_a_missing_path_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file or folder"):
        inspect_app(tmp_path / "nowhere")


def test_inspection_never_imports_the_application(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(
        "raise SystemExit('imported!')\nfrom langgraph.graph import StateGraph\n"
        "g = StateGraph(dict)\ng.add_node('a', lambda s: s)\n",
        encoding="utf-8",
    )
    reports, _ = inspect_app(tmp_path)
    assert [r.node for r in reports] == ["a"]


PATTERNS = FIXTURES / "patterns"


def _rel(path: str) -> str:
    return path.split("patterns/", 1)[1]


def test_a_react_agent_context_dataclass_names_the_model_and_prompt_read_through_runtime_context() -> None:
    # react-agent: model = load_chat_model(runtime.context.model); the prompt is Context.system_prompt's default.
    nodes = _nodes(PATTERNS / "react_context")
    [call] = nodes["call_model"].model_calls
    assert call.method == "ainvoke" and call.model.cls == "init_chat_model"
    assert call.model.model == "anthropic/claude-3-5-sonnet-20240620"
    assert (_rel(call.model.file), call.model.line) == ("react_context/src/react_agent/context.py", 11)
    [prompt] = call.prompts
    assert (prompt.name, _rel(prompt.file), prompt.line) == (
        "SYSTEM_PROMPT", "react_context/src/react_agent/prompts.py", 1)
    assert prompt.text.startswith("You are a helpful AI assistant.")
    assert not nodes["tools"].calls_model  # a ToolNode whose tool calls no model


def test_configuration_from_runnable_config_and_configurable_get_defaults_are_followed() -> None:
    nodes = _nodes(PATTERNS / "configurable")
    [call] = nodes["call_model"].model_calls
    assert call.model.model == "anthropic/claude-3-5-sonnet-20240620"  # Configuration.model's default
    assert [(p.name, _rel(p.file), p.line) for p in call.prompts] == [
        ("SYSTEM_PROMPT", "configurable/memory_agent/configuration.py", 6)]
    [summary] = nodes["summarize"].model_calls
    assert summary.model.model == ("openai:gpt-4o-mini (default of runtime value "
                                   "config['configurable'].get('summary_model', 'openai:gpt-4o-mini'))")
    [picked] = nodes["pick"].model_calls
    assert (picked.model.model, picked.via) == ("runtime value: model_name", "pick")


def test_tools_subgraphs_callable_classes_runnable_lambdas_and_sequences_are_nodes_with_their_calls() -> None:
    nodes = _nodes(PATTERNS / "composed")
    assert [n for n in nodes] == ["fact_check", "clean", "draft", "critic", "polish", "tools", "research"]
    assert not nodes["clean"].calls_model
    assert nodes["draft"].model_calls[0].model.model == "gpt-4o"  # add_sequence([... ("draft", draft)])
    [critic] = nodes["critic"].model_calls
    assert nodes["critic"].function == "Critic.__call__"
    assert (critic.model.model, critic.model.line, critic.prompts[0].text) == (
        "gpt-4o-mini", 21, "[system] Criticise the draft harshly.")
    assert nodes["polish"].model_calls[0].model.model == "gpt-4.1"  # RunnableLambda(polish)
    [tool_call] = nodes["tools"].model_calls
    assert tool_call.via == "tool summarise_results" and tool_call.prompts[0].name == "SUMMARY_PROMPT"
    [sub] = nodes["research"].model_calls
    assert nodes["research"].function == "subgraph research"
    assert (sub.model.model, sub.via) == ("o3-mini", "subgraph research, node fact_check")


def test_functional_api_tasks_and_entrypoints_are_reported_as_nodes() -> None:
    reports, _ = inspect_app(PATTERNS / "functional")
    found = {(r.graph, r.node): r for r in reports}
    assert list(found) == [("@task", "outline"), ("@task", "count_words"), ("@entrypoint", "essay")]
    [call] = found["@task", "outline"].model_calls
    assert (call.model.model, call.prompts[0].name) == ("openai:gpt-4o-mini", "OUTLINE_PROMPT")
    assert not found["@task", "count_words"].calls_model
    assert found["@entrypoint", "essay"].model_calls[0].via == "outline"
