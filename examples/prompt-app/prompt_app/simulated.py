"""An offline stand-in for a chat model, selected with PROMPT_APP_FAKE=1.

It is not an LLM: it follows a few fixed rules that react to the prompt text, so that a
prompt change changes the measured behaviour (which a canned-reply fake would not). It
reports token usage like a real provider, and at temperature > 0 it sometimes forgets an
instruction, so repeated runs vary (unless PROMPT_APP_SEED is set).
"""

from __future__ import annotations

import os
import random
import re
from typing import Any

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult

KEYWORDS = {
    "billing": ("invoice", "charged", "refund", "bill", "payment"),
    "technical": ("error", "crash", "app", "bug", "install"),
    "account": ("password", "login", "log in", "email address", "username"),
    "shipping": ("parcel", "delivery", "delivered", "tracking", "shipped"),
}
ANSWERS = {
    "billing": "I have checked your payment and a correction is on its way.",
    "technical": "Please update the app to the latest version; that fixes this error.",
    "account": "You can reset it from the sign-in page with the 'Forgot password' link.",
    "shipping": "Your parcel is with the courier; the tracking link is in your order email.",
    "other": "I will pass your message to a colleague who can help.",
}


def _text(message: BaseMessage) -> str:
    return message.content if isinstance(message.content, str) else str(message.content)


class SimulatedChatModel(BaseChatModel):
    """Rule-following fake chat model (see the module docstring)."""

    model_name: str = "simulated"
    temperature: float = 0.0

    @property
    def _llm_type(self) -> str:
        return "simulated"

    def _reply(self, system: str, user: str) -> str:
        # PROMPT_APP_SEED makes the slips a fixed function of the prompt (reproducible demos and tests).
        seed = os.environ.get("PROMPT_APP_SEED")
        rng = random.Random(f"{seed}\0{system}\0{user}") if seed else random.Random()
        listed = re.search(r"Categories:\s*(.+)", system)
        if listed:  # acting as the router
            for category in [c.strip().lower() for c in listed.group(1).split(",")]:
                if any(word in user.lower() for word in KEYWORDS.get(category, ())):
                    return category
            return "other"
        found = re.search(r"Category:\s*(\w+)", user)
        category = found.group(1) if found and found.group(1) in ANSWERS else "other"
        reply = ANSWERS[category]
        # A warmer model follows the formatting instruction less reliably.
        if "square brackets" in system and rng.random() >= 0.15 * self.temperature:
            reply = f"[{category}] {reply}"
        return reply

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: Any = None, **kwargs: Any) -> ChatResult:
        system = "\n".join(_text(m) for m in messages if m.type == "system")
        user = "\n".join(_text(m) for m in messages if m.type == "human")
        reply = self._reply(system, user)
        usage = {"input_tokens": len((system + " " + user).split()), "output_tokens": len(reply.split())}
        usage["total_tokens"] = usage["input_tokens"] + usage["output_tokens"]
        message = AIMessage(content=reply, usage_metadata=usage, response_metadata={"model_name": self.model_name})
        return ChatResult(generations=[ChatGeneration(message=message)])
