"""`audit overlap --train DATA --bench DATA`: contamination probes with per-item verdicts."""

from typing import Annotated

import typer

from auditor.cli import options as opt
from auditor.cli.console import progress_bar, stdout
from auditor.embeddings import Encoder
from auditor.errors import InputError
from auditor.overlap import build_probes, run_overlap
from auditor.render.overlap import render_overlap
from auditor.scan import DEFAULT_BATCH_SIZE
from probes import OVERLAP_PROBES, PROBES


def overlap(
    train: Annotated[
        str, typer.Option("--train", help="Training data: DATA (see `audit --help`).")
    ],
    bench: Annotated[str, typer.Option("--bench", help="Benchmark: a card (trec:test) or DATA.")],
    probe: Annotated[
        list[str] | None,
        typer.Option(
            "--probe",
            "-p",
            help=f"Probes to run (repeatable; default all: {', '.join(OVERLAP_PROBES)}).",
        ),
    ] = None,
    ngram_n: Annotated[int, typer.Option("--ngram-n", help="Largest n of the ngram probe.")] = 13,
    minhash_threshold: Annotated[
        float, typer.Option("--minhash-threshold", help="Jaccard flag threshold.")
    ] = 0.5,
    embedding_threshold: Annotated[
        float, typer.Option("--embedding-threshold", help="Cosine flag threshold.")
    ] = 0.88,
    encoder: Annotated[
        str, typer.Option("--encoder", help="Sentence encoder: minilm, a folder, or hf:ORG/NAME.")
    ] = "minilm",
    batch_size: Annotated[
        int, typer.Option("--batch-size", help="Training items per streamed batch.")
    ] = DEFAULT_BATCH_SIZE,
    top: Annotated[int, typer.Option("--top", help="Flagged items shown in the table.")] = 10,
    output: opt.Format = opt.OutputFormat.table,
    out: opt.Out = None,
    cache_dir: opt.CacheDir = None,
    seed: opt.Seed = 1,
    device: opt.Device = "cpu",
    quiet: opt.Quiet = False,
    text_field: opt.TextField = None,
    label_field: opt.LabelField = None,
    encoding: opt.Encoding = None,
    skip_bad_lines: opt.SkipBadLines = False,
    max_line_chars: opt.MaxLineChars = 10_000_000,
) -> None:
    """Find benchmark items that leaked into the training data.

    Probes: exact (normalised equality and containment), ngram (13-gram coverage), minhash
    (5-gram Jaccard) and embedding (MiniLM cosine). An item is flagged when any probe flags it.
    """
    names = probe or list(OVERLAP_PROBES)
    for name in names:
        PROBES.get(name)  # unknown names fail here, before any loading
    if batch_size < 1:
        raise InputError("--batch-size must be at least 1.")
    load = opt.load_options(text_field, label_field, encoding, skip_bad_lines, max_line_chars)
    bench_corpus, train_corpus = opt.load_data([bench, train], load, quiet)
    probes = build_probes(names, {
        "ngram": {"n": ngram_n},
        "minhash": {"threshold": minhash_threshold, "seed": seed},
        "embedding": {"threshold": embedding_threshold, "model": encoder, "device": device},
    })  # fmt: skip
    shared_encoder = Encoder(encoder, device=device, cache_dir=cache_dir)
    with progress_bar(quiet) as on_progress:
        report = run_overlap(
            train_corpus, bench_corpus, probes, encoder=shared_encoder,
            batch_size=batch_size, on_progress=on_progress,
        )  # fmt: skip
    payload = report.model_dump_json(indent=2)
    opt.write_json(payload, out, quiet)
    if output is opt.OutputFormat.json:
        print(payload)
    else:
        render_overlap(report, bench_corpus, train_corpus, stdout, top=top)
