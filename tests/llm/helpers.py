"""Running the terminal loop in LLM mode against the mini pack with a queued fake model."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from tests.conftest import open_session, quiet_console
from workflow.chat import StreamReader
from workflow.llm.facilitator import LlmFacilitator
from workflow.llm.terminal import run_llm_chat
from workflow.llm.testing import FakeChatModel


def run_llm(out: Path, name: str, model: Any, script: str, budget: int = 6000,
            llm: Any = None) -> tuple[int, str, LlmFacilitator]:
    console, buffer = quiet_console()
    session = open_session(out, name)
    try:
        facilitator = LlmFacilitator(model=model, pack=session.pack, project_dir=session.folder,
                                     budget_tokens=budget, llm=llm, sleep=lambda _seconds: None)
        code = run_llm_chat(session, console, StreamReader(io.StringIO(script), console), facilitator)
    finally:
        session.close()
    return code, buffer.getvalue(), facilitator


class RateLimitError(Exception):
    """Shaped like openai.RateLimitError: the class name and a 429 status."""

    status_code = 429


class AuthenticationError(Exception):
    status_code = 401


class APITimeoutError(Exception):
    pass


__all__ = ["APITimeoutError", "AuthenticationError", "FakeChatModel", "RateLimitError", "run_llm"]
