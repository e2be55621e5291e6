"""Conversational personas through a chat model (DESIGN 1, 2): the model talks and proposes,
the engine owns navigation, gating, state and files. Everything here imports LangChain lazily
or only when a model is configured; the scripted facilitator never loads it."""
