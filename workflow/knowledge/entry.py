"""The knowledge entry format (knowledge/README.md): one pydantic model per entry type,
a discriminated union on `type`, and the allowlist of hosts a citation may point to."""

from __future__ import annotations

import re
from typing import Annotated, Literal, Self
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    field_validator,
    model_validator,
)

EntryType = Literal["decision", "pattern", "warning", "methodology", "checklist"]
ENTRY_TYPES: tuple[EntryType, ...] = ("decision", "pattern", "warning", "methodology", "checklist")

# The id prefix says the type at a glance in logs and step files (dec-rag-vs-fine-tuning).
ID_PREFIXES: dict[str, str] = {
    "decision": "dec-",
    "pattern": "pat-",
    "warning": "warn-",
    "methodology": "meth-",
    "checklist": "chk-",
}

# Stable hosts only: papers, official documentation, standards bodies and long-lived
# practitioner sites. A citation elsewhere is more likely to rot or to be a blog copy.
ALLOWED_HOSTS: frozenset[str] = frozenset(
    """
    arxiv.org aclanthology.org openreview.net proceedings.neurips.cc papers.nips.cc proceedings.mlr.press
    huggingface.co pytorch.org docs.python.org platform.openai.com cookbook.openai.com docs.anthropic.com
    www.anthropic.com python.langchain.com docs.langchain.com langchain-ai.github.io docs.llamaindex.ai
    www.sbert.net sbert.net github.com owasp.org genai.owasp.org www.nist.gov nvlpubs.nist.gov sre.google
    martinfowler.com cloud.google.com learn.microsoft.com docs.aws.amazon.com aws.amazon.com
    developers.google.com mlflow.org docs.vllm.ai qdrant.tech weaviate.io www.pinecone.io docs.pinecone.io
    milvus.io faiss.ai www.elastic.co opensearch.org www.postgresql.org research.google ai.meta.com
    www.deeplearning.ai eugeneyan.com lilianweng.github.io huyenchip.com karpathy.github.io
    jalammar.github.io www.oreilly.com gdpr-info.eu eur-lex.europa.eu www.microsoft.com openai.com
    kubernetes.io prometheus.io opentelemetry.io docs.ragas.io arize.com docs.smith.langchain.com
    www.evidentlyai.com docs.evidentlyai.com scikit-learn.org numpy.org docs.scipy.org www.tensorflow.org
    developer.nvidia.com docs.nvidia.com www.nvidia.com docs.cohere.com
    """.split()
)

KEBAB = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Tag = Annotated[str, StringConstraints(pattern=KEBAB.pattern)]


def url_problem(url: str) -> str | None:
    """Why `url` is not an acceptable citation (None when it is): https, an allowed host, a path."""
    parts = urlsplit(url)
    if parts.scheme != "https":
        return "must start with https://"
    host = (parts.hostname or "").lower()
    if host not in ALLOWED_HOSTS:
        return f"host '{host}' is not on the allowlist of stable hosts (knowledge/README.md lists them)"
    if not parts.path.strip("/"):
        return "must point to a page (a path after the host), not the site's front page"
    return None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(_Strict):
    title: Text
    url: str

    @field_validator("url")
    @classmethod
    def _stable_url(cls, url: str) -> str:
        problem = url_problem(url.strip())
        if problem:
            raise ValueError(f"url {problem}")
        return url.strip()


class Option(_Strict):
    name: Text
    when: Text
    tradeoffs: Text


class _Base(_Strict):
    type: EntryType
    id: Annotated[str, StringConstraints(pattern=KEBAB.pattern)]
    title: Text
    topics: Annotated[list[Tag], Field(min_length=1)]
    summary: Text
    source: Source

    @model_validator(mode="after")
    def _id_prefix(self) -> Self:
        prefix = ID_PREFIXES[self.type]
        if not self.id.startswith(prefix):
            raise ValueError(f"id '{self.id}' must start with '{prefix}' for a {self.type}")
        return self


class DecisionEntry(_Base):
    type: Literal["decision"]
    question: Text
    options: Annotated[list[Option], Field(min_length=2)]
    considerations: list[Text]
    recommended_approach: Text


class PatternEntry(_Base):
    type: Literal["pattern"]
    problem: Text
    solution: Text
    when_to_use: Text | None = None
    tradeoffs: Text | None = None


class WarningEntry(_Base):
    type: Literal["warning"]
    description: Text
    prevention: Annotated[list[Text], Field(min_length=1)]
    severity: Literal["low", "medium", "high"]


class MethodologyEntry(_Base):
    type: Literal["methodology"]
    steps: Annotated[list[Text], Field(min_length=2)]
    outcome: Text | None = None


class ChecklistEntry(_Base):
    type: Literal["checklist"]
    items: Annotated[list[Text], Field(min_length=2)]


Entry = DecisionEntry | PatternEntry | WarningEntry | MethodologyEntry | ChecklistEntry
ENTRY_ADAPTER: TypeAdapter[Entry] = TypeAdapter(Annotated[Entry, Field(discriminator="type")])

# The keys each type carries beyond the common ones; used for error hints and for results.
CONTENT_FIELDS: dict[str, tuple[str, ...]] = {
    "decision": ("question", "options", "considerations", "recommended_approach"),
    "pattern": ("problem", "solution", "when_to_use", "tradeoffs"),
    "warning": ("description", "prevention", "severity"),
    "methodology": ("steps", "outcome"),
    "checklist": ("items",),
}
COMMON_FIELDS: tuple[str, ...] = ("id", "type", "title", "topics", "summary", "source")
