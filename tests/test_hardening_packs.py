"""A suite of malicious packs: each escape (paths out of the pack or the project, Cairn's own
files as outputs, symlinks) and each denial of service (anchor bombs, deep nesting, binary or
huge step files, sandbox abuse, endless loops) is refused by `check_pack` with a problem naming
the file and the key, quickly, without a traceback."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from tests.conftest import MINI
from workflow.expressions import ExpressionError, evaluate, render_string, render_template
from workflow.packs import check_pack

STEP1 = "steps/0-scoping/step-01-scope.md"
STEP2 = "steps/2-training/step-02-train.md"


@pytest.fixture
def pack(tmp_path: Path) -> Path:
    root = tmp_path / "pack"
    shutil.copytree(MINI, root)
    return root


def edit(pack: Path, rel: str, old: str, new: str) -> None:
    file = pack / rel
    text = file.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {rel}"
    file.write_text(text.replace(old, new, 1), encoding="utf-8")


def problems_of(pack: Path) -> list[str]:
    started = time.monotonic()
    _, problems = check_pack(pack)
    assert time.monotonic() - started < 10, "validation must not hang"
    return problems


def only_problem(pack: Path, *fragments: str) -> str:
    problems = problems_of(pack)
    assert len(problems) == 1, problems
    for fragment in fragments:
        assert fragment in problems[0], problems[0]
    return problems[0]


def problem_with(pack: Path, *fragments: str) -> str:
    """For a step broken as a whole (its other problems follow from it): one problem names it."""
    problems = problems_of(pack)
    found = [p for p in problems if all(fragment in p for fragment in fragments)]
    assert found, problems
    return found[0]


def test_the_unmodified_fixture_pack_is_valid(pack: Path) -> None:
    assert problems_of(pack) == []


@pytest.mark.parametrize("record", ["/tmp/owned.md", "../owned.md", "phase-2-training/../../owned.md",
                                    "decision-log.md", "sidecar.yaml", ".cairn/session.sqlite"])
def test_a_skip_record_outside_the_project_or_on_cairns_own_files_is_refused(pack: Path, record: str) -> None:
    edit(pack, STEP2, "skip_record: phase-2-training/train.md", f"skip_record: {record}")
    only_problem(pack, "step-02-train.md", "skip_record")


@pytest.mark.parametrize("path", ["decision-log.md", "sidecar.yaml", "project-spec.md", "export.html",
                                  "/etc/cron.d/x.md", "../x.md", "''", ".", "phase-0-scoping",
                                  "phase-0-scoping/", ".cairn/lock", "phase-0-scoping/.hidden.md"])
def test_an_output_that_escapes_or_overwrites_project_state_or_names_a_folder_is_refused(pack: Path,
                                                                                         path: str) -> None:
    edit(pack, STEP1, "{path: phase-0-scoping/scope.md,", f"{{path: {path},")
    only_problem(pack, "step-01-scope.md", "outputs[0].path")


def test_an_output_that_is_the_folder_of_another_output_is_refused(pack: Path) -> None:
    edit(pack, STEP1, "  - {path: phase-0-scoping/scope.md, template: scope.md.j2}",
         "  - {path: phase-0-scoping/scope.md, template: scope.md.j2}\n"
         "  - {path: phase-0-scoping/scope.md/inner.md, template: scope.md.j2}")
    only_problem(pack, "outputs[0].path", "is a folder of another output")


@pytest.mark.parametrize("template", ["../../../etc/passwd", "/etc/passwd", "..\\\\x.j2"])
def test_a_template_outside_the_templates_folder_is_refused(pack: Path, template: str) -> None:
    edit(pack, STEP1, "template: scope.md.j2}", f"template: '{template}'}}")
    only_problem(pack, "outputs[0].template")


def test_a_symlinked_template_pointing_out_of_the_pack_is_refused(pack: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("api_key: hunter2\n", encoding="utf-8")
    (pack / "templates" / "scope.md.j2").unlink()
    (pack / "templates" / "scope.md.j2").symlink_to(secret)
    problem = only_problem(pack, "outputs[0].template", "symbolic link")
    assert "hunter2" not in problem
    with pytest.raises(ExpressionError, match="symbolic link"):
        render_template(pack / "templates" / "scope.md.j2", {})


@pytest.mark.parametrize("context", ["/etc/passwd", "../../../etc/passwd", "phase-0-scoping/../../x.md"])
def test_context_paths_outside_the_project_are_refused(pack: Path, context: str) -> None:
    edit(pack, STEP2, "phase: phase-2-training\n", f"phase: phase-2-training\ncontext: ['{context}']\n")
    only_problem(pack, "context[0]")


def test_a_symlinked_step_file_pointing_out_of_the_pack_is_refused(pack: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.md"
    shutil.copy(pack / STEP2, outside)
    (pack / STEP2).unlink()
    (pack / STEP2).symlink_to(outside)
    problems = problems_of(pack)
    assert any("step-02-train.md: a symbolic link out of steps/" in p for p in problems), problems


def test_pack_folders_outside_the_pack_are_refused(pack: Path) -> None:
    (pack / "pack.yaml").write_text((pack / "pack.yaml").read_text(encoding="utf-8") + "templates: ../../\n",
                                    encoding="utf-8")
    only_problem(pack, "pack.yaml", "templates", "outside the pack folder")


@pytest.mark.parametrize("tag", ["{% include 'scope.md.j2' %}", "{% extends 'scope.md.j2' %}",
                                 "{% import 'scope.md.j2' as other %}", "{% from 'x' import y %}"])
def test_templates_that_pull_in_other_files_are_refused(pack: Path, tag: str) -> None:
    (pack / "templates" / "scope.md.j2").write_text(f"# Scope\n{tag}\n", encoding="utf-8")
    only_problem(pack, "outputs[0].template", "line 2", "is not allowed")


def test_an_anchor_bomb_in_a_form_default_is_refused_with_its_line(pack: Path) -> None:
    bomb = "\n".join(["x-bomb:", "  - &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
                     + [f"  - &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 8)])
    edit(pack, STEP1, "---\nid: \"1\"", f"---\n{bomb}\nid: \"1\"")
    problem_with(pack, "step-01-scope.md line 8", "aliases")


def test_ten_thousand_levels_of_nesting_are_refused(pack: Path) -> None:
    edit(pack, STEP1, "---\nid: \"1\"", "---\ndeep: " + "[" * 10_000 + "]" * 10_000 + "\nid: \"1\"")
    problem_with(pack, "step-01-scope.md", "nested")


def test_a_binary_step_file_is_refused(pack: Path) -> None:
    (pack / STEP2).write_bytes(b"---\x00\x01\xff\xfe" * 100)
    problems = problems_of(pack)
    assert any("step-02-train.md: a binary file" in p for p in problems), problems


def test_a_step_file_not_in_utf8_names_the_line(pack: Path) -> None:
    data = (pack / STEP2).read_bytes().replace(b"Pick a base model.", b"Choisissez le mod\xe8le.")
    (pack / STEP2).write_bytes(data)
    problems = problems_of(pack)
    assert any("step-02-train.md line" in p and "not UTF-8" in p for p in problems), problems


def test_a_fifty_megabyte_step_body_is_refused_without_reading_it_all(pack: Path) -> None:
    with (pack / STEP2).open("a", encoding="utf-8") as handle:
        handle.write("x" * 2_000_000)
    problems = problems_of(pack)
    assert any("step-02-train.md: larger than" in p for p in problems), problems


def test_a_loop_of_two_steps_with_no_way_out_is_refused(pack: Path) -> None:
    edit(pack, "steps/3-inference/step-03-rag.md", "next: 6-integration/step-04-review.md",
         "next: 2-training/step-02-train.md")
    problem = problem_with(pack, "form a loop the walk can never leave")
    assert "2 -> 3 -> 2" in problem or "3 -> 2 -> 3" in problem


def test_a_loop_with_a_conditional_way_out_is_accepted(pack: Path) -> None:
    edit(pack, "steps/3-inference/step-03-rag.md", "next: 6-integration/step-04-review.md",
         "next:\n  - {when: \"top_k > 10\", step: 2-training/step-02-train.md}\n"
         "  - {step: 6-integration/step-04-review.md}")
    assert problems_of(pack) == []


def test_a_huge_power_in_a_condition_neither_hangs_validate_nor_evaluation(pack: Path) -> None:
    edit(pack, STEP2, "skip_when: \"architecture == 'rag-only'\"", "skip_when: \"2**999999999 > 1\"")
    assert problems_of(pack) == []  # it parses; evaluating it is what the budget refuses
    with pytest.raises(ExpressionError, match="too large"):
        evaluate("2**999999999 > 1", {})


@pytest.mark.parametrize(("source", "message"), [
    ("{{ 1/0 }}", "division by zero"),
    ("{{ range(10**9)|list }}", "too large"),
    ("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", "recurs"),
    ("{{ 'x' * 10**9 }}", "over the limit"),
    ("{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}", "loop iterations"),
    ("{% set ns = namespace(s='ab') %}{% for i in range(60) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
     "over the limit"),
    ("{{ '%0999999999d' % 1 }}", "width"),
    ("{{ 'a'|center(10**9) }}", "over the limit"),
    ("{{ ''.__class__.__mro__ }}", "unsafe"),
])
def test_templates_that_crash_or_exhaust_the_sandbox_are_one_expression_error(source: str, message: str) -> None:
    started = time.monotonic()
    with pytest.raises(ExpressionError) as caught:
        render_string(source, {})
    assert time.monotonic() - started < 5
    assert message in str(caught.value) or message in str(caught.value).lower(), str(caught.value)


def test_ordinary_templates_still_render_big_numbers_and_loops() -> None:
    text = render_string("{{ '{:,}'.format(n) }} {{ '%d'|format(n) }} {% for i in range(3) %}{{ i }}{% endfor %}"
                         "{{ 'ab' * 3 }}", {"n": 5_000_000})
    assert text == "5,000,000 5000000 012ababab"


def test_answers_files_and_set_values_are_read_with_the_yaml_budget(tmp_path: Path) -> None:
    from workflow.answers import AnswerPlan
    from workflow.errors import ConfigError
    from workflow.yamlload import YamlLimitError, load_yaml

    bomb = tmp_path / "answers.yaml"
    bomb.write_text("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
                    + "".join(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]\n" for i in range(1, 8)),
                    encoding="utf-8")
    with pytest.raises(ConfigError, match=r"answers.yaml line \d+: not valid YAML \(expands to more than"):
        AnswerPlan.from_file(bomb)
    with pytest.raises(YamlLimitError, match="refers to the value that contains it"):
        load_yaml("&a [*a]")
    plan = AnswerPlan(None, ["use_case=&a [*a]"], False)
    assert plan.overrides == {"": {"use_case": "&a [*a]"}}, "an endless --set value is kept as the text typed"
