"""Turning text into index terms: lowercase words, English stop words dropped, and a
light suffix stemmer so "chunking", "chunks" and "chunk" meet.

"go", "no" and "not" are kept: the pack's own gate vocabulary is "GO / CONDITIONAL GO /
NO-GO". A hyphenated compound ("no-go", "llm-as-judge") also yields its joined form
("nogo"), so a query that spells the compound ranks the documents that do above those that
only use its parts.

The stemmer is deliberately small (plural, -ation/-ator/-ate/-age/-ment, -al, -ing, -ed, -er, a
final -e, doubled consonants) rather than a full Porter stemmer: the base is a few
hundred entries in plain English and the rules only have to be consistent, since
they are applied identically to documents and queries.
"""

from __future__ import annotations

import re
from functools import lru_cache

_WORD = re.compile(r"[a-z0-9]+")
_COMPOUND = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)+")
# "A/B" would otherwise vanish: "a" is a stop word and "b" a single letter.
_AB = re.compile(r"\ba\s*/\s*b\b")
# "go back to the old model" is a rollback; without this "go" alone matches the GO gates.
_GO_BACK = re.compile(r"\b(?:go|goes|going|went|roll|rolling|rolled)\s+back\b")
# "use" is a stop word, so "use case" would shrink to "case"; it is one term, as the tag use-case.
_USE_CASE = re.compile(r"\buse[\s-]+cases?\b")

STOPWORDS = frozenset(
    """
    a about above after again against all am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have
    having he her here hers herself him himself his how i if in into is it its itself just me more most
    my myself nor now of off on once only or other our ours ourselves out over own same she should
    so some such than that the their theirs them themselves then there these they this those through to
    too under until up very was we were what when where which while who whom why will with would you
    your yours yourself yourselves vs versus via etc e g ie eg us let lets get gets got going want
    need needs way ways best good better use used using uses one also
    """.split()
)

# Spellings practitioners use interchangeably, mapped to the words the entries use.
_ALIASES: dict[str, tuple[str, ...]] = {
    "finetune": ("fine", "tune"),
    "finetuned": ("fine", "tuned"),
    "finetuning": ("fine", "tuning"),
    "llms": ("llm",),
    "evals": ("evaluation",),
    "eval": ("evaluation",),
    "db": ("database",),
    "dbs": ("database",),
    "vectordb": ("vector", "database"),
    "k8s": ("kubernetes",),
    "ft": ("fine", "tuning"),
    "sft": ("sft", "supervised", "fine", "tuning"),
    "dedup": ("deduplication",),
    "dedupe": ("deduplication",),
    "kpi": ("success", "metric"),
    "kpis": ("success", "metric"),
    "p95": ("tail", "latency", "p95"),
    "p99": ("tail", "latency", "p99"),
    "ocr": ("ocr", "scanned", "document", "parsing"),
    "json": ("json", "structured", "output"),
    "rollback": ("rollback", "roll", "back"),
    "rollbacks": ("rollback", "roll", "back"),
}

# Everyday words for a concept the entries name with a term of art. The term is added
# beside the word (documents and queries alike), so both spellings still match.
_CONCEPTS: dict[str, str] = {
    **dict.fromkeys(("bill", "bills", "spend", "spending", "expensive", "cheap", "cheaper", "price",
                     "pricing", "budget"), "cost"),
    **dict.fromkeys(("revert", "reverting", "undo"), "rollback"),
    **dict.fromkeys(("grade", "grading", "grader", "graders"), "judge"),
    **dict.fromkeys(("measure", "measuring", "measurement"), "metric"),
    # Framework names stand for the orchestration decision the entries discuss.
    **dict.fromkeys(("langchain", "langgraph", "llamaindex", "crewai", "autogen", "dspy", "haystack"),
                    "orchestration"),
    # Test items that reach the training data are what the entries call contamination.
    **dict.fromkeys(("benchmark", "benchmarks", "leak", "leaked", "leaking", "leakage"), "contamination"),
    **dict.fromkeys(("anonymise", "anonymize", "redact", "redaction", "scrub", "scrubbing"), "pii"),
    **dict.fromkeys(("launch", "ship", "shipping", "golive"), "release"),
    **dict.fromkeys(("hallucinate", "hallucinating", "hallucinations"), "hallucination"),
}

_VOWELS = frozenset("aeiouy")
_DERIVED = (("ation", 8), ("ator", 7), ("ate", 7), ("age", 7), ("ment", 9))


@lru_cache(maxsize=65536)  # a corpus repeats its words; ingesting 10,000 chunks stems each once
def stem(word: str) -> str:
    """Reduce `word` (lowercase) to a crude stem; short words only lose a final -e ("tune" -> "tun")."""
    if len(word) <= 4 or word.isdigit():
        return word[:-1] if len(word) == 4 and word.endswith("e") else word
    # plurals (Harman's S-stemmer, plus words like "bias" and "alias" left alone)
    if word.endswith("ies") and not word.endswith(("eies", "aies")):
        word = word[:-3] + "y"
    elif word.endswith("sses"):
        word = word[:-2]
    elif word.endswith("es") and not word.endswith(("aes", "ees", "oes")):
        word = word[:-1]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is", "as")):
        word = word[:-1]
    suffix_removed = False
    # derivational endings that practitioners swap freely: evaluate / evaluation / evaluator
    derived = next((suffix for suffix, minimum in _DERIVED if word.endswith(suffix) and len(word) >= minimum), None)
    if derived:
        word = word[: -len(derived)]
    elif word.endswith("al") and len(word) >= 8:  # retrieval / retriever / retrieve
        word = word[:-2]
    elif word.endswith("ing") and len(word) >= 6 and _has_vowel(word[:-3]):
        word, suffix_removed = word[:-3], True
    elif word.endswith("ed") and len(word) >= 6 and _has_vowel(word[:-2]):
        word, suffix_removed = word[:-2], True
    if word.endswith("er") and len(word) >= 7:
        word, suffix_removed = word[:-2], True
    if suffix_removed and len(word) >= 3 and word[-1] == word[-2] and word[-1] not in _VOWELS | {"s"}:
        word = word[:-1]
    if word.endswith("e") and len(word) >= 4:
        word = word[:-1]
    return word


def _has_vowel(text: str) -> bool:
    return any(ch in _VOWELS for ch in text)


def words(text: str) -> list[str]:
    """Lowercase words with aliases expanded, before stop words and stemming; each
    hyphenated compound adds its joined form after its parts."""
    lowered = _USE_CASE.sub("usecase", _GO_BACK.sub("rollback", _AB.sub("ab", text.lower())))
    out: list[str] = []
    for word in _WORD.findall(lowered):
        out.extend(_ALIASES.get(word, (word,)))
        if word in _CONCEPTS:
            out.append(_CONCEPTS[word])
    for compound in _COMPOUND.findall(lowered):
        joined = compound.replace("-", "")
        if joined not in _ALIASES and len(compound.split("-")) <= 3:
            out.append(joined)
    return out


def tokenize(text: str) -> list[str]:
    """Index terms of `text`: words minus stop words, stemmed. Used for documents and queries."""
    return [stem(word) for word in words(text) if word not in STOPWORDS]


def tag_terms(tag: str) -> tuple[str, ...]:
    """The terms of a kebab-case tag ("fine-tuning" -> ("fin", "tun")); empty for a stop-word tag."""
    return tuple(tokenize(tag.replace("-", " ")))
