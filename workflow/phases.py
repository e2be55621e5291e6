"""The one table that maps between the three spellings of a phase (DESIGN 3.2):
pack folder `2-training`, output folder `phase-2-training`, sidecar key `phase_2_training`."""

from __future__ import annotations

import re

_PHASE = re.compile(r"^(?:phase-)?(\d+)-([a-z0-9-]+)$")


def output_folder(phase: str) -> str:
    """`2-training` or `phase-2-training` -> `phase-2-training`."""
    number, name = _split(phase)
    return f"phase-{number}-{name}"


def pack_folder(phase: str) -> str:
    number, name = _split(phase)
    return f"{number}-{name}"


def sidecar_key(phase: str) -> str:
    number, name = _split(phase)
    return f"phase_{number}_{name.replace('-', '_')}"


def is_phase(text: str) -> bool:
    return _PHASE.match(text) is not None


def _split(phase: str) -> tuple[str, str]:
    match = _PHASE.match(phase)
    if match is None:
        raise ValueError(f"'{phase}' is not a phase name like '2-training' or 'phase-2-training'")
    return match.group(1), match.group(2)


# The phase folders every project of the shipped pack gets.
DEFAULT_PHASES = (
    "phase-0-scoping",
    "phase-1-feature",
    "phase-2-training",
    "phase-3-inference",
    "phase-4-evaluation",
    "phase-5-operations",
    "phase-6-integration",
)
