"""Tiny models built from configs, saved as local checkpoints with MiniLM's tokenizer."""

import string
from pathlib import Path

import torch
from transformers import (
    AutoTokenizer,
    BertConfig,
    BertModel,
    BertTokenizer,
    GPT2Config,
    GPT2LMHeadModel,
)

from auditor.models import resolve_model


def _tokenizer():
    tokenizer = AutoTokenizer.from_pretrained(resolve_model("minilm"))
    tokenizer.eos_token = "[SEP]"
    return tokenizer


def compact_tokenizer(texts: list[str]):
    """MiniLM's WordPiece tokenizer cut down to the pieces `texts` tokenize into, plus the
    printable single characters (alone and as `##` continuations), so that any other ASCII word
    still tokenizes: `texts` split exactly as MiniLM splits them (greedy longest match finds the
    same pieces in a vocabulary that keeps them). A tiny causal LM's output layer is most of
    its step: on the membership tests' texts 2,375 tokens instead of 30,522 train their three
    models in 13 s instead of 92. Deterministic: the vocabulary is sorted, nothing is trained
    (a trained 4,000-token WordPiece was not the same from run to run)."""
    full = _tokenizer()
    used = {piece for text in texts for piece in full.tokenize(text)}
    chars = {piece for piece in full.vocab
             if len(piece.removeprefix("##")) == 1 and piece[-1] in string.printable}  # fmt: skip
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    pieces = [*specials, *sorted((used | chars) - set(specials))]
    tokenizer = BertTokenizer(vocab={piece: i for i, piece in enumerate(pieces)})
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


def train_causal_lm(folder: Path, texts: list[str], *, seed: int, epochs: int = 6,
                    lr: float = 2e-3, max_length: int = 64, tokenizer=None) -> Path:
    """A tiny GPT-2 trained from scratch on `texts` (shuffled per epoch, seeded) and saved: the
    models of the membership tests, whose training data is known exactly. Its tokenizer is
    MiniLM's unless `tokenizer` is given."""
    from auditor.evaluate import pad_right

    tokenizer = tokenizer or _tokenizer()
    config = GPT2Config(vocab_size=len(tokenizer), n_embd=64, n_layer=2, n_head=2,
                        n_positions=128, eos_token_id=tokenizer.eos_token_id,
                        pad_token_id=tokenizer.pad_token_id)  # fmt: skip
    torch.manual_seed(seed)
    model = GPT2LMHeadModel(config)
    rows = [tokenizer(t, truncation=True, max_length=max_length)["input_ids"] for t in texts]
    optimiser = torch.optim.AdamW(model.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(rows), generator=generator).tolist()
        for start in range(0, len(order), 16):
            batch = [rows[i] for i in order[start : start + 16]]
            ids, mask = pad_right(batch, tokenizer.pad_token_id)
            labels = ids.masked_fill(mask == 0, -100)
            loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    model.eval()
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
