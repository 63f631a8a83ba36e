"""`audit index build DATA [--cache-dir DIR]`: precompute and cache what the probes need for a
corpus. `--cache-dir` is the name every other command gives its cache folder; `--out` stays as
the older name, so existing scripts keep working."""

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from auditor.cli import options as opt
from auditor.cli.console import progress_bar, stdout
from auditor.scan import DEFAULT_BATCH_SIZE
from probes.windows import LADDER, Windowing

app = typer.Typer(help="Precomputed corpus indexes, reused by later audits.", no_args_is_help=True)


@app.command("build")
@opt.with_options
def build(
    data: Annotated[str, typer.Argument(help="The corpus to index: DATA (see `audit --help`).")],
    out: Annotated[
        Path | None,
        typer.Option(
            "--cache-dir",
            "--out",
            "-o",
            help="Cache folder to write (default $AUDIT_CACHE_DIR or ~/.cache/audit); later "
            "audits read it through their --cache-dir. --out is its older name.",
            envvar="AUDIT_CACHE_DIR",
        ),
    ] = None,
    encoder: Annotated[
        str, typer.Option("--encoder", help="Sentence encoder: minilm, a folder, or hf:ORG/NAME.")
    ] = "minilm",
    batch_size: Annotated[
        int,
        typer.Option(
            "--batch-size", min=1, help="Items per batch: the --batch-size of later audits."
        ),
    ] = DEFAULT_BATCH_SIZE,
    window: Annotated[
        int,
        typer.Option("--window", min=0, help="Also embed the embedding probe's skeleton windows "
                     "of this width in words: the width its parameters show for your benchmark "
                     f"(one of {', '.join(map(str, LADDER))}; 0: none)."),
    ] = 64,
    names: Annotated[
        bool,
        typer.Option("--names/--no-names", help="Windows' and sentences' skeletons replace names "
                     "too, as the probes do for benchmarks of long items (median 20+ words)."),
    ] = True,
    sentences: Annotated[
        bool,
        typer.Option("--sentences/--no-sentences", help="Also embed the alignment probe's "
                     "training sentences (skeletons, at most 64 per document)."),
    ] = True,
    output: opt.ListingFormat = opt.Listing.table,
    device: Annotated[opt.DeviceName, typer.Option("--device", help="cpu, cuda or auto.")] = (
        opt.DeviceName.cpu
    ),
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress on stderr.")] = False,
    compute: opt.EngineOptions = None,
    reading: opt.DataOptions = None,
) -> None:
    """Embed a training corpus once, so later audits of it skip the encoding.

    `audit overlap`, `shift` and `run` with the same cache folder, encoder and --batch-size then
    read every training batch's embeddings (and the embedding probe's windows of --window words,
    and the alignment probe's sentences) from the index, and the typicality probe measures each
    benchmark item against the whole corpus (exact search, or an IVF index with measured recall
    above 200k documents) instead of a 2,000-item sample. A rerun embeds only what is missing.
    With --engine ray the batches are embedded by encoder actors on the Ray cluster (one per
    CPU, or per GPU with --device cuda) and written to the cache here.
    """
    # Imported here, not at the top: `audit --help` and the option checks need no torch.
    from auditor.embeddings import Encoder
    from auditor.index import build_index
    from auditor.knn import KnnIndex

    device = opt.check_device(device)
    out = opt.check_folder(out, "--cache-dir/--out")
    (corpus,) = reading.load([data], quiet)
    with progress_bar(quiet) as on_progress:
        report = build_index(
            corpus,
            Encoder(encoder, device=device, cache_dir=out),
            batch_size=batch_size,
            windowing=Windowing(window, skeleton=True, names=names) if window else None,
            sentence_names=names if sentences else None,
            on_progress=on_progress,
            engine=compute.built,
        )
    if output is opt.Listing.json:
        print(report.model_dump_json(indent=2))
        return
    table = Table(title=f"Index of {corpus.source}", show_header=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    computed = report.batches - report.batches_reused
    rate = len(corpus) / report.seconds if not report.batches_reused and report.seconds else None
    rows = {
        "items": f"{len(corpus):,} (fingerprint {corpus.fingerprint[:12]})",
        "encoder": f"{report.encoder['model']} ({report.encoder['dtype']}, "
        f"{report.encoder['dimension']} dimensions)",
        "batches": f"{report.batches:,} ({report.batch_size:,} items each): {computed:,} embedded, "
        f"{report.batches_reused:,} already cached",
        "kNN search": KnnIndex(**report.knn).describe(),
        "time": f"{report.seconds:.1f} s" + (f" ({rate:,.0f} items/s)" if rate else ""),
        "folder": report.directory,
    }
    for name, value in rows.items():
        table.add_row(name, value)
    stdout.print(table)
