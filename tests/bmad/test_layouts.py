"""Every BMAD layout loads into a step graph that covers every step file, and `cairn validate`
refuses a pack whose step files cannot all be reached."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.bmad.conftest import MODES, SKILL, V62, edit
from tests.test_cli import cairn
from workflow.errors import PackError
from workflow.packs import check_pack, load_pack


def test_a_v62_workflow_without_frontmatter_follows_the_next_step_named_in_the_body() -> None:
    pack = load_pack(V62)
    assert pack.name == "create-architecture" and list(pack.steps) == ["1", "2", "3", "4"]
    assert [[r.step for r in pack.step(s).next_rules] for s in pack.steps] == [["2"], ["3"], ["4"], []]
    assert any("step-01b-continue.md: no nextStep chain" in w and "continuation file" in w for w in pack.warnings)


def test_validate_reports_every_step_of_a_body_linked_workflow(out: Path, capsys, monkeypatch) -> None:
    code, stdout, _ = cairn(["validate", str(V62)], out, capsys, monkeypatch)
    assert code == 0 and "4 steps" in stdout


def test_validate_refuses_a_workflow_whose_later_step_files_are_unreachable(tmp_path: Path, out: Path, capsys,
                                                                          monkeypatch) -> None:
    pack = tmp_path / "v62"
    shutil.copytree(V62, pack)
    edit(pack / "steps" / "step-02-context.md", "- Load `./step-03-decisions.md`", "- Stop here")
    code, stdout, err = cairn(["validate", str(pack)], out, capsys, monkeypatch)
    assert code == 1 and "OK" not in stdout and "Traceback" not in err
    assert "steps/step-03-decisions.md: unreachable: no step from the first one (step-01-init.md)" in err
    assert "steps/step-04-complete.md: unreachable" in err


def test_a_workflow_with_one_file_per_mode_runs_the_create_mode_from_its_steps_c_folder() -> None:
    pack = load_pack(MODES)
    assert pack.name == "create-prd" and pack.steps_dir.name == "steps-c"
    assert [s.rel for s in pack.steps.values()] == ["step-01-init.md", "step-02-discovery.md",
                                                    "step-03-requirements.md"]
    assert {o.path for s in pack.steps.values() for o in s.meta.outputs} == {"phase-0-workflow/prd.md"}, \
        "{{project_name}}-{{date}} is dropped from the file name: the project folder names the project"


def test_a_skill_folder_loads_without_a_pack_yaml_and_fills_customize_toml_values(tmp_path: Path) -> None:
    pack = load_pack(SKILL)
    assert (pack.name, pack.title) == ("bmad-eval-brief", "Evaluation Brief")
    assert [s.rel for s in pack.steps.values()] == ["step-01-scope.md", "step-02-metrics.md"]
    template = Path(pack.step("1").meta.outputs[0].template).read_text(encoding="utf-8")
    assert "# Evaluation Brief: {{ project.name or '' }}" in template
    assert "Quality bar: 90% pass rate on the golden set" in template, "a customize.toml default"
    assert "tpl_feature_summary" in pack.step("1").meta.form, "the template's own placeholder is asked"


def test_a_folder_with_markdown_but_no_bmad_workflow_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "steps").mkdir()
    (tmp_path / "steps" / "step-01.md").write_text("# Step 1\n", encoding="utf-8")
    (tmp_path / "notes.md").write_text("# Notes\n", encoding="utf-8")
    with pytest.raises(PackError, match="no pack.yaml here, and no BMAD workflow.md, workflow-"):
        check_pack(tmp_path)
