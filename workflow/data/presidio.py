"""Optional PII scan with Microsoft Presidio (the `pii` extra), on top of Cairn's own scan.

Cairn's regex scan (`pii.py`) already covers emails, phone numbers, card numbers, IP addresses and
API keys, fast and offline. Presidio adds what regexes cannot see: names and places (with a spaCy
model that has an entity recognizer, such as `en_core_web_lg`) and its other recognizers (IBAN,
national ids, crypto wallets...). Only those entity types are asked for, so nothing is counted twice.
It reads the example's text (prompt and response), not the raw JSON line, and costs milliseconds
per example: it is for review-sized files, not the 200 MB fast path.

The spaCy model is a name of an installed model package or a folder (`spacy.load` accepts both);
nothing is downloaded.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from workflow.data.pii import mask
from workflow.errors import DataError, MissingExtra

# Entity types Cairn's own scan covers (counted there), and ones too noisy to call PII.
_COVERED = frozenset({"EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IP_ADDRESS"})
_NOISY = frozenset({"URL", "DATE_TIME"})
MIN_SCORE = 0.4


@lru_cache(maxsize=2)
def load_analyzer(model: str) -> tuple[Any, list[str]]:
    """A Presidio analyzer over the spaCy model `model`, and the entity types it will report.

    Raises:
        MissingExtra: presidio-analyzer (or spaCy) is not installed.
        DataError: the spaCy model is neither an installed package nor a model folder.
    """
    try:
        import spacy
        from presidio_analyzer import AnalyzerEngine
        from presidio_analyzer.nlp_engine import SpacyNlpEngine
    except ImportError:
        raise MissingExtra("pii", "presidio-analyzer") from None
    if not (Path(model).is_dir() or spacy.util.is_package(model)):
        raise DataError(f"spaCy model {model!r} is not installed and is not a folder: pass an installed model "
                        f"(pip install en_core_web_lg) or a model folder to --presidio")
    try:
        engine = SpacyNlpEngine(models=[{"lang_code": "en", "model_name": model}])
        engine.load()
        analyzer = AnalyzerEngine(nlp_engine=engine, supported_languages=["en"])
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot load spaCy model {model!r} for Presidio: {exc}") from None
    entities = sorted(set(analyzer.get_supported_entities("en")) - _COVERED - _NOISY)
    return analyzer, entities


def scan_texts(model: str, texts: list[str]) -> list[tuple[int, str, str]]:
    """(index into `texts`, kind, masked value) for each Presidio finding; kinds are lower-case
    entity types (`person`, `location`, `iban_code`, ...)."""
    analyzer, entities = load_analyzer(model)
    found = []
    for index, text in enumerate(texts):
        if not text:
            continue
        for hit in analyzer.analyze(text=text, language="en", entities=entities, score_threshold=MIN_SCORE):
            kind = hit.entity_type.lower()
            found.append((index, kind, mask(kind, text[hit.start:hit.end])))
    return found
