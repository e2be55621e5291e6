"""Compatibility with BMAD-style step packs (DESIGN 3.4): a loader that derives the step graph,
skip rules, menus, knowledge calls, personas and a minimal form from BMAD conventions and
returns the same `Pack` the engine runs for Cairn packs.

Modules: `config` (config.yaml, workflow.md), `steps` (one step file), `routes` (nextStep
resolution and branch conditions), `guidance` (sections and the derived form), `menus`,
`queries` (Endpoint/Topic lines), `personas`, `loader` (assembly), `report` (warnings)."""

from workflow.bmad.layout import is_bmad_folder
from workflow.bmad.loader import check_bmad_pack

__all__ = ["check_bmad_pack", "is_bmad_folder"]
