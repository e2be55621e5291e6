"""A tiny customer-support app used to show Cairn's prompt-tuning loop."""
