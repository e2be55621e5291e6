"""Which chat template a run trains with, so assistant-only loss is not silently switched off.

TRL masks the loss to the assistant's tokens only when the template marks them with
`{% generation %}`. Most released models' templates do not, so: the model's own template when it
has the markers; else TRL's training template for the model family (TRL 1.16 ships them for
Qwen2.5, Llama 3, Phi-3, Gemma...); else, for a ChatML model (`<|im_start|>` / `<|im_end|>`, like
SmolLM2), Cairn's ChatML template with the markers; else none, and the run says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

__all__ = ["TemplatePlan", "has_generation_markers", "training_template"]

_MARKERS = re.compile(r"\{%-?\s*generation\s*-?%\}")


def has_generation_markers(template: str | None) -> bool:
    return bool(template and _MARKERS.search(template))


@dataclass(frozen=True, kw_only=True)
class TemplatePlan:
    template: str | None  # the template to set on the tokenizer; None keeps the model's
    source: str  # "model", "trl", "chatml" or "none"
    note: str  # one line for the resolved config and the report

    @property
    def assistant_only(self) -> bool:
        return self.source != "none"


def _is_chatml(tokenizer: Any, template: str) -> bool:
    vocab = tokenizer.get_vocab() if hasattr(tokenizer, "get_vocab") else {}
    return "<|im_start|>" in template and "<|im_start|>" in vocab and "<|im_end|>" in vocab


def training_template(tokenizer: Any) -> TemplatePlan:
    """The template to train with for this tokenizer (see the module docstring)."""
    own = tokenizer.chat_template if isinstance(getattr(tokenizer, "chat_template", None), str) else None
    if has_generation_markers(own):
        return TemplatePlan(template=None, source="model", note="the model's own chat template (it has "
                                                                 "{% generation %} markers)")
    if own:
        try:
            from trl.chat_template_utils import get_training_chat_template

            patched = get_training_chat_template(tokenizer)
        except (ImportError, ValueError):  # ValueError: TRL has no training template for this family
            patched = None
        if patched and has_generation_markers(patched):
            return TemplatePlan(template=patched, source="trl", note="TRL's training chat template for this model "
                                "family (the model's own has no {% generation %} markers)")
        if _is_chatml(tokenizer, own):
            from workflow.training.tiny import CHAT_TEMPLATE

            return TemplatePlan(template=CHAT_TEMPLATE, source="chatml", note="Cairn's ChatML training template "
                                "(the model uses ChatML tokens; its own template has no {% generation %} markers)")
    return TemplatePlan(template=None, source="none", note="no template with {% generation %} markers for this "
                        "model, so SFT learns every token of the conversation, not only the assistant's answers")
