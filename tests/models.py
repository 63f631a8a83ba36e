"""Tiny models built from configs, saved as local checkpoints with MiniLM's tokenizer."""

from pathlib import Path

import torch
from transformers import AutoTokenizer, BertConfig, BertModel, GPT2Config, GPT2LMHeadModel

from auditor.models import resolve_model


def _tokenizer():
    tokenizer = AutoTokenizer.from_pretrained(resolve_model("minilm"))
    tokenizer.eos_token = "[SEP]"
    return tokenizer


def tiny_bert(folder: Path) -> Path:
    """A 2-layer BERT encoder (the base of classification controls)."""
    tokenizer = _tokenizer()
    config = BertConfig(
        vocab_size=tokenizer.vocab_size, hidden_size=64, num_hidden_layers=2,
        num_attention_heads=2, intermediate_size=128, max_position_embeddings=256,
    )  # fmt: skip
    torch.manual_seed(1234)  # not a seed a control uses: the "pretrained" weights must differ
    BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def tiny_gpt2(folder: Path) -> Path:
    """A 2-layer GPT-2 causal LM (the base of generation controls)."""
    tokenizer = _tokenizer()
    config = GPT2Config(vocab_size=tokenizer.vocab_size, n_embd=64, n_layer=2, n_head=2,
                        n_positions=256, eos_token_id=tokenizer.eos_token_id,
                        pad_token_id=tokenizer.pad_token_id)  # fmt: skip
    torch.manual_seed(1234)  # not a seed a control uses: the "pretrained" weights must differ
    GPT2LMHeadModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
