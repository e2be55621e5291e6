"""A tiny causal LM built entirely offline, for tests and the demo (model hubs are unreachable).

A byte-level BPE tokenizer is trained with `tokenizers` on a small built-in corpus, given a
ChatML chat template with `{% generation %}` markers (so `assistant_only_loss` works), and
paired with a Qwen2 model of random weights. The folder then loads like any model id.
"""

from __future__ import annotations

import random
from pathlib import Path

from workflow.data.atomic import atomic_folder
from workflow.errors import TrainingError

__all__ = ["CHAT_TEMPLATE", "build_tiny_model"]

# Wider than the usual 0.02 so the frozen (tied) output layer can express confident predictions:
# with 0.02 a LoRA adapter cannot push the loss of a 64-wide model much below ln(vocab).
INIT = 0.3

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]

# ChatML, as Qwen2.5 uses it; the generation markers tell TRL which tokens are the assistant's.
CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'assistant' -%}"
    "{{ '<|im_start|>assistant\\n' }}{% generation %}{{ message['content'] + '<|im_end|>' }}{% endgeneration %}"
    "{{ '\\n' }}"
    "{%- else -%}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '<|im_start|>assistant\\n' }}{%- endif -%}"
)

# Words the example datasets and typical prompts use, so they tokenize into few tokens.
_WORDS = (
    "the a an and or to of in on for with my your our is was are be it this that not no yes can could "
    "please help need want how what why when where who which i you we they he she me us them "
    "classify ticket support customer label answer question reply assistant user system "
    "billing shipping account technical refund charge charged twice invoice payment card price "
    "subscription cancel plan order package delivery arrived late lost tracking address courier "
    "box damaged password login reset email username profile locked sign two factor "
    "app crash error bug slow update install screen page loading server broken "
    "today yesterday week month again still since after before help thanks hello hi "
    "one two three four five six seven eight nine ten good bad right wrong true false "
    "summary translate write explain short long example data model train test eval"
).split()


def _corpus(seed: int) -> list[str]:
    rng = random.Random(seed)
    lines = [" ".join(rng.choice(_WORDS) for _ in range(rng.randint(4, 16))) for _ in range(3000)]
    lines += [w.capitalize() + "." for w in _WORDS]
    lines.append("0 1 2 3 4 5 6 7 8 9 . , ! ? : ; - ' \" ( ) [ ] { } / \\ @ # % & * + = < > _ ~")
    return lines


def build_tiny_model(out_dir: Path, *, hidden: int = 64, layers: int = 2, seed: int = 0) -> Path:
    """Write a tokenizer and a randomly initialised Qwen2 model into `out_dir`; return it.

    Deterministic for a given seed. The folder appears whole or not at all; an existing one is
    replaced only when it holds an earlier tiny model (nothing but the same file names).

    Raises:
        MissingExtra: the training extra is absent.
        TrainingError: `out_dir` cannot be written, or is a folder of other files.
    """
    from workflow.training.deps import require_training_stack

    require_training_stack()
    out_dir = Path(out_dir)
    # Built in a temp folder beside `out_dir` and renamed into place: a failure or Ctrl-C never
    # leaves a folder without model.safetensors that looks like a model.
    with atomic_folder(out_dir, error=TrainingError) as folder:
        _build(folder, hidden=hidden, layers=layers, seed=seed)
    return out_dir


def _build(out_dir: Path, *, hidden: int, layers: int, seed: int) -> None:
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(
        _corpus(seed),
        trainer=trainers.BpeTrainer(vocab_size=1024, special_tokens=SPECIAL_TOKENS, show_progress=False,
                                    initial_alphabet=pre_tokenizers.ByteLevel.alphabet()),
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe, eos_token="<|im_end|>", pad_token="<|endoftext|>",
        additional_special_tokens=["<|im_start|>"], model_max_length=4096,
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.save_pretrained(out_dir)

    heads = max(1, hidden // 16)
    config = Qwen2Config(
        vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=hidden * 2,
        num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=heads,
        max_position_embeddings=4096, tie_word_embeddings=True, initializer_range=INIT,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, bos_token_id=None,
    )
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(config)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(out_dir)
