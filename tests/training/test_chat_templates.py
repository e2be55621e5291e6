"""Assistant-only loss is kept on for released models whose templates lack generation markers."""

from __future__ import annotations

from pathlib import Path

from transformers import AutoTokenizer

from workflow.training.chat_templates import has_generation_markers, training_template


def _tokenizer(tiny_model: Path, template: str) -> object:
    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model))
    tokenizer.chat_template = template
    return tokenizer


def test_a_template_with_generation_markers_is_kept(tiny_model: Path) -> None:
    plan = training_template(AutoTokenizer.from_pretrained(str(tiny_model)))
    assert plan.source == "model" and plan.template is None and plan.assistant_only


def test_a_qwen2_5_template_gets_trls_training_template_for_the_family(tiny_model: Path) -> None:
    import trl

    shipped = Path(trl.__file__).parent / "chat_templates"
    plan = training_template(_tokenizer(tiny_model, (shipped / "qwen2_5.jinja").read_text(encoding="utf-8")))
    assert plan.source == "trl" and "TRL" in plan.note
    assert plan.template == (shipped / "qwen2_5_training.jinja").read_text(encoding="utf-8")
    assert has_generation_markers(plan.template)


def test_a_chatml_template_without_markers_gets_cairns_chatml_training_template(tiny_model: Path) -> None:
    smollm2 = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + "
               "'<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}"
               "{% endif %}")
    tokenizer = _tokenizer(tiny_model, smollm2)
    plan = training_template(tokenizer)
    assert plan.source == "chatml" and has_generation_markers(plan.template)
    messages = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]
    rendered = tokenizer.apply_chat_template(messages, tokenize=False)  # type: ignore[attr-defined]
    assert tokenizer.apply_chat_template(messages, tokenize=False, chat_template=plan.template) == rendered  # type: ignore[attr-defined]


def test_an_unknown_template_without_markers_says_every_token_is_learned(tiny_model: Path) -> None:
    plan = training_template(_tokenizer(tiny_model, "{% for m in messages %}{{ m['content'] }}\n{% endfor %}"))
    assert plan.source == "none" and not plan.assistant_only and "every token" in plan.note


def test_dry_run_and_run_agree_on_assistant_only_loss_with_trls_template(tiny_model: Path, tmp_path: Path) -> None:
    import shutil

    import trl

    from tests.training.helpers import write_spec
    from workflow.training.launch import TrainRequest, train

    model = tmp_path / "qwen-like"
    shutil.copytree(tiny_model, model)
    shipped = Path(trl.__file__).parent / "chat_templates"
    (model / "chat_template.jinja").write_text((shipped / "qwen2_5.jinja").read_text(encoding="utf-8"),
                                               encoding="utf-8")
    spec = write_spec(tmp_path / "spec", model)
    result = train(TrainRequest(spec_file=spec, dry_run=True))
    assert result.data["chat_template"]["source"] == "trl"
    assert result.data["stages"]["sft"]["trl"]["assistant_only_loss"] is True
    assert not any("every token" in w for w in result.data["warnings"])
