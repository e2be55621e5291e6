"""Turning text into index terms: lowercase words, English stop words dropped, and a
light suffix stemmer so "chunking", "chunks" and "chunk" meet.

The stemmer is deliberately small (plural, -ation/-ator/-ate/-age/-ment, -al, -ing, -ed, -er, a
final -e, doubled consonants) rather than a full Porter stemmer: the base is a few
hundred entries in plain English and the rules only have to be consistent, since
they are applied identically to documents and queries.
"""

from __future__ import annotations

import re
from functools import lru_cache

_WORD = re.compile(r"[a-z0-9]+")
# "A/B" would otherwise vanish: "a" is a stop word and "b" a single letter.
_AB = re.compile(r"\ba\s*/\s*b\b")

STOPWORDS = frozenset(
    """
    a about above after again against all am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have
    having he her here hers herself him himself his how i if in into is it its itself just me more most
    my myself no nor not now of off on once only or other our ours ourselves out over own same she should
    so some such than that the their theirs them themselves then there these they this those through to
    too under until up very was we were what when where which while who whom why will with would you
    your yours yourself yourselves vs versus via etc e g ie eg us let lets get gets got go going want
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
    """Lowercase words with aliases expanded, before stop words and stemming."""
    out: list[str] = []
    for word in _WORD.findall(_AB.sub("ab", text.lower())):
        out.extend(_ALIASES.get(word, (word,)))
        if word in _CONCEPTS:
            out.append(_CONCEPTS[word])
    return out


def tokenize(text: str) -> list[str]:
    """Index terms of `text`: words minus stop words, stemmed. Used for documents and queries."""
    return [stem(word) for word in words(text) if word not in STOPWORDS]


def tag_terms(tag: str) -> tuple[str, ...]:
    """The terms of a kebab-case tag ("fine-tuning" -> ("fin", "tun")); empty for a stop-word tag."""
    return tuple(tokenize(tag.replace("-", " ")))
