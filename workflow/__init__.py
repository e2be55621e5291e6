"""Cairn: a guided conversational workflow engine for designing and fine-tuning LLM systems."""

__version__ = "0.1.0"
