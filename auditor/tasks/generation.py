"""Generation: greedy decoding from the prompt, answers read and compared by the card's rules.

At most `max_new_tokens` are generated from "Question: {text}\\nAnswer:"; the card's answer
extractor reads both the output and the gold answer, compared exactly (numerically for numeric
answers), as lm-evaluation-harness's strict-then-flexible match does.
"""

from typing import Any, ClassVar

import torch

from auditor.corpus import Corpus
from auditor.evaluate import EvalResult, batches, mean_correct, prompt_of
from auditor.tasks.causal import CausalTask
from auditor.tasks.spec import TaskSpec, extract_answer, same_answer


class Generation(CausalTask):
    name: ClassVar[str] = "generation"

    @torch.inference_mode()
    def evaluate(
        self,
        model: Any,
        tokenizer: Any,
        corpus: Corpus,
        spec: TaskSpec,
        *,
        batch_size: int = 16,
        max_new_tokens: int = 256,
        max_length: int = 512,
        **_: Any,
    ) -> EvalResult:
        model.eval()
        device = next(model.parameters()).device
        tokenizer.padding_side = "left"
        tokenizer.truncation_side = "left"  # keep the end of a long prompt: "Answer:"
        positions = getattr(model.config, "max_position_embeddings", None) or getattr(
            model.config, "n_positions", None
        )
        if positions:  # prompt and answer must fit the model's context window
            max_new_tokens = min(max_new_tokens, positions // 2)
            max_length = min(max_length, positions - max_new_tokens)
        outputs = []
        for _, texts in batches(corpus.texts, batch_size):
            encoded = tokenizer(
                [prompt_of(t) for t in texts],
                padding=True,
                truncation=True,
                max_length=max_length,
                return_tensors="pt",
            ).to(device)
            generated = model.generate(
                **encoded,
                max_new_tokens=max_new_tokens,
                do_sample=False,
                pad_token_id=tokenizer.pad_token_id,
            )
            new_tokens = generated[:, encoded["input_ids"].shape[1] :]
            outputs.extend(tokenizer.batch_decode(new_tokens, skip_special_tokens=True))
        items = []
        answers = corpus.column("answer")
        for index, (output, answer) in enumerate(zip(outputs, answers, strict=True)):
            predicted, gold = extract_answer(output, spec), extract_answer(answer or "", spec)
            items.append(
                {
                    "index": index,
                    "prediction": predicted,
                    "gold": gold,
                    "correct": same_answer(predicted, gold, spec),
                    "output": output,
                }
            )
        return EvalResult(self.name, mean_correct(items), items)


TASK = Generation()
