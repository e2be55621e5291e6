"""One prompt per step (DESIGN 7): how an IDE assistant facilitates it. The rules are the point:
ask the user, never invent answers, call `choose` only when the user says so."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.prompts.base import Prompt
from pydantic import Field

from workflow.errors import CairnError
from workflow.mcp.workspace import Workspace
from workflow.pack_model import Pack, Step
from workflow.store import read_sidecar

ProjectArg = Annotated[str, Field(description="The project to facilitate (see list_projects).")]

RULES = """How to run this step:
1. Call `current_step` (project="{project}") for the questions (`form`), the context documents,
   the knowledge results, the menu and what is `missing` before Continue.
2. Ask the user the questions in the persona's voice, a few at a time. Offer defaults, earlier
   answers and what the knowledge base says, but never invent an answer: if the user has not
   said it, ask. Do not answer on the user's behalf.
3. Send what the user said with `submit_answers`; if a field comes back in `errors`, explain the
   problem and ask again.
4. Only with the user's approval: draft a declared document with `save_document`, record a
   decision with `record_decision`, add stories with `add_stories`. Show the text first.
5. Show the menu ({menu}). Call `choose` only with the option the user picks; never pick
   Continue on your own. If `choose` returns advanced=false, tell the user what is missing.
6. The server decides when the step is complete. Do not edit the project's files yourself and
   do not skip ahead; after Continue, call `current_step` again for the next step."""


def facilitation(pack: Pack, step: Step, project: str) -> str:
    """The prompt text for facilitating `step` of `project`."""
    persona = pack.personas.get(step.meta.agent)
    who = f"{persona.name}, {persona.title}" if persona else step.meta.agent
    lines = [f"You are facilitating step {step.id} ({step.title}) of the Cairn project \"{project}\" as {who}."]
    if persona and persona.style:
        lines.append(f"Communication style: {persona.style}")
    if persona and persona.principles:
        lines.append("Principles: " + "; ".join(persona.principles))
    if step.meta.description:
        lines += ["", f"Goal of this step: {step.meta.description}"]
    menu = ", ".join(f"[{m.key}] {m.label}" for m in step.meta.menu)
    lines += ["", RULES.format(project=project, menu=menu)]
    guidance = step.guidance()
    if guidance:
        lines += ["", "Guidance for this step:", "", guidance]
    return "\n".join(lines)


def register_prompts(server: MCPServer, ws: Workspace, pack: Pack | None) -> None:
    """`facilitate` (whatever step a project is at) and `step-ID` for each step of `pack`."""

    def project_pack(project: str) -> Pack:
        try:
            return ws.pack(read_sidecar(ws.folder(project)))
        except CairnError as exc:
            raise ValueError(str(exc)) from None

    def facilitate(project: ProjectArg) -> str:
        """How to facilitate the step a project is at now."""
        try:
            sidecar = read_sidecar(ws.folder(project))
        except CairnError as exc:
            raise ValueError(str(exc)) from None
        current = sidecar.get("currentStep")
        if not current:
            return f"The Cairn project \"{project}\" is complete. Call `progress` to summarise it for the user."
        project_pack_ = ws.pack(sidecar)
        return facilitation(project_pack_, project_pack_.step(str(current)), project)

    server.add_prompt(Prompt.from_function(facilitate, name="facilitate", title="Facilitate the current step"))
    for step in (pack.steps.values() if pack is not None else ()):
        server.add_prompt(Prompt.from_function(
            _step_prompt(step.id, project_pack), name=f"step-{step.id}", title=f"Step {step.id}: {step.title}",
            description=f"Facilitate step {step.id} ({step.title}): {step.meta.description}"))


def _step_prompt(step_id: str, project_pack: Callable[[str], Pack]) -> Callable[[str], str]:
    def prompt(project: ProjectArg) -> str:
        pack = project_pack(project)
        if step_id not in pack.steps:
            raise ValueError(f"project '{project}' uses pack {pack.name}, which has no step {step_id}")
        return facilitation(pack, pack.step(step_id), project)

    return prompt
