"""Options shared by the commands, declared once as groups (dataclasses of Typer options).

A command takes a group as one parameter (`data: DataOptions`); `@with_options` spreads the
group's fields into the command's CLI options and gathers them back into the dataclass, so every
command offers the same flags with the same help and bounds, and checks them (output suffixes,
devices) in the group's `__post_init__`, before any data is loaded or model trained.
"""

import dataclasses
import functools
import inspect
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, get_type_hints

import typer

from auditor.cache import atomic_write_text
from auditor.cli.console import note, stdout
from auditor.errors import InputError
from auditor.render import FORMATS, format_of, print_table, render
from auditor.report import Report

if TYPE_CHECKING:
    from auditor.corpus import Corpus
    from auditor.loading import LoadOptions
    from auditor.scan import Engine

DEFAULT_SEED = 0
"""The one default seed of every command."""

TrainData = Annotated[
    str, typer.Option("--train", help="Training data: DATA (see `audit --help`).")
]
BenchData = Annotated[str, typer.Option("--bench", help="Benchmark: a card (trec:test) or DATA.")]
ModelData = Annotated[
    str, typer.Option("--model", help="The model: a checkpoint folder, hf:ORG/NAME, or minilm.")
]

OutputFormat = StrEnum("OutputFormat", {name: name for name in FORMATS})
"""Every output format of the registry (`auditor.render.FORMATS`)."""
_FORMAT_HELP = "; ".join(f"{f.name}: {f.help}" for f in FORMATS.values())


class Listing(StrEnum):
    """Output of commands whose result is not a report (cards, an index, a control, an eval)."""

    table = "table"
    json = "json"


ListingFormat = Annotated[
    Listing, typer.Option("--format", "-f", help="table (rich) or json on stdout.")
]


class DeviceName(StrEnum):
    cpu = "cpu"
    cuda = "cuda"
    auto = "auto"


def check_device(device: str) -> str:
    """`cuda` where torch sees no GPU is an input error, before any work (auto falls back)."""
    if device == DeviceName.cuda:
        import torch

        if not torch.cuda.is_available():
            raise InputError(
                "--device cuda: this torch sees no CUDA GPU. Use --device cpu, or auto (a GPU "
                "when there is one)."
            )
    return str(device)


def check_folder(path: Path | None, option: str) -> Path | None:
    """A folder the command will create files under: it is a folder, or can be made one (its
    nearest existing ancestor is a folder), else an input error now rather than a traceback
    after the work (a cache under a regular file)."""
    if path is None:
        return None
    path = path.expanduser()
    if path.exists() and not path.is_dir():
        raise InputError(f"{option} {path}: a file, not a folder. Name a folder (it is created).")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise InputError(
                    f"{option} {path}: {parent} is a file, so no folder can be made under it. "
                    "Name a folder elsewhere."
                )
            break
    return path


def check_file(path: Path | None, option: str) -> Path | None:
    """A file the command will write: not a folder, in a folder that exists."""
    if path is None:
        return None
    path = path.expanduser()
    if path.is_dir():
        raise InputError(f"{option} {path}: a folder; name a file inside it.")
    if not path.parent.is_dir():
        what = "is a file" if path.parent.exists() else "does not exist"
        raise InputError(f"{option} {path}: folder {path.parent} {what}. Name a file in an "
                         "existing folder.")  # fmt: skip
    return path


@dataclass
class DataOptions:
    """How DATA arguments are read.

    `--text-field`, `--label-field` and `--encoding` apply to files, folders and hub data, never
    to a card: a card declares its own fields and encoding, so in `--train trec:train --bench
    my.jsonl --text-field question` the field names my.jsonl's text, not TREC's.
    """

    text_field: Annotated[
        str | None,
        typer.Option(
            "--text-field",
            help="Field holding the text of DATA files, folders and hub data (cards declare "
            "their own): a name, a dotted path, or a template like '{q}\\n{a}'.",
        ),
    ] = None
    label_field: Annotated[
        str | None,
        typer.Option("--label-field", help="Field holding the label (not for cards)."),
    ] = None
    encoding: Annotated[
        str | None,
        typer.Option(
            "--encoding",
            help="Text encoding of local files (default strict UTF-8; `auto` detects and "
            "reports; cards declare their own).",
        ),
    ] = None
    skip_bad_lines: Annotated[
        bool,
        typer.Option("--skip-bad-lines", help="Skip malformed lines (counted) instead of failing."),
    ] = False
    max_line_chars: Annotated[
        int, typer.Option("--max-line-chars", min=1, help="Longest line accepted in a text file.")
    ] = 10_000_000

    def side_fields(self, side: str | None) -> tuple[str | None, str | None]:
        """The (text, label) fields the user named for this side only; none in one-sided
        commands, whose shared options already name their one DATA."""
        return None, None

    def load(self, specs: Sequence[str | tuple[str, str]], quiet: bool) -> list["Corpus"]:
        """Load each DATA argument, a spec or a (spec, side) pair with side `train` or `bench`,
        printing what loading decided (encodings, skipped lines, options a card ignores)."""
        from auditor.loading import load_corpus  # datasets: not for `--help`

        corpora = []
        for item in specs:
            spec, side = (item, None) if isinstance(item, str) else item
            corpus = load_corpus(spec, self._options(spec, side, quiet))
            for message in corpus.notes:
                note(message, quiet)
            corpora.append(corpus)
        return corpora

    def _options(self, spec: str, side: str | None, quiet: bool) -> "LoadOptions":
        """Per-side fields win; shared ones apply unless `spec` is a card (then a note says so)."""
        from auditor.loading import LoadOptions, is_card_spec
        from auditor.loading.readers import ReadOptions

        own_text, own_label = self.side_fields(side)
        card = is_card_spec(spec)
        shared = {"--text-field": self.text_field, "--label-field": self.label_field,
                  "--encoding": self.encoding}  # fmt: skip
        if card and (ignored := [name for name, value in shared.items() if value is not None]):
            hint = f"; --{side}-text-field and --{side}-label-field do" if side else ""
            note(f"{spec}: a card declares its own fields and encoding, so {', '.join(ignored)} "
                 f"do not apply to it{hint}", quiet)  # fmt: skip
        return LoadOptions(
            text_field=own_text or (None if card else self.text_field),
            label_field=own_label or (None if card else self.label_field),
            encoding=None if card else self.encoding,
            read=ReadOptions(
                max_line_chars=self.max_line_chars, skip_bad_lines=self.skip_bad_lines
            ),
        )


@dataclass
class PairedDataOptions(DataOptions):
    """`DataOptions` of commands with a training and a benchmark side (overlap, shift, control,
    run): the two sides are often different formats, so each may name its own fields."""

    train_text_field: Annotated[
        str | None,
        typer.Option("--train-text-field", help="--text-field for --train only (cards too)."),
    ] = None
    bench_text_field: Annotated[
        str | None,
        typer.Option("--bench-text-field", help="--text-field for --bench only (cards too)."),
    ] = None
    train_label_field: Annotated[
        str | None,
        typer.Option("--train-label-field", help="--label-field for --train only (cards too)."),
    ] = None
    bench_label_field: Annotated[
        str | None,
        typer.Option("--bench-label-field", help="--label-field for --bench only (cards too)."),
    ] = None

    def side_fields(self, side: str | None) -> tuple[str | None, str | None]:
        if side not in ("train", "bench"):
            return None, None
        return getattr(self, f"{side}_text_field"), getattr(self, f"{side}_label_field")


@dataclass
class Runtime:
    """Where and how a command computes."""

    cache_dir: Annotated[
        Path | None,
        typer.Option(
            "--cache-dir",
            help="Cache for embeddings, reports and controls (default $AUDIT_CACHE_DIR or "
            "~/.cache/audit).",
            envvar="AUDIT_CACHE_DIR",
        ),
    ] = None
    device: Annotated[
        DeviceName, typer.Option("--device", help="cpu, cuda, or auto (cuda when available).")
    ] = DeviceName.cpu
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bars or notes on stderr.")
    ] = False
    seed: Annotated[
        int,
        typer.Option("--seed", help="Seed for every randomised step (samples, permutations, "
                     "bootstrap, the controls' data split)."),
    ] = DEFAULT_SEED  # fmt: skip

    def __post_init__(self) -> None:
        self.device = check_device(self.device)
        self.cache_dir = check_folder(self.cache_dir, "--cache-dir")


def _local_engine(address: str | None) -> "Engine":
    from auditor.scan import LocalEngine

    return LocalEngine()


def _ray_engine(address: str | None) -> "Engine":
    try:
        import ray  # noqa: F401 - only to know it is there, before any data is read
    except ImportError:
        raise InputError(
            "--engine ray: Ray is not installed. Install it with pip install 'audit[ray]', or "
            "use --engine local."
        ) from None
    from auditor.scan_ray import RayEngine

    return RayEngine(address)


ENGINES: dict[str, Callable[[str | None], "Engine"]] = {"local": _local_engine, "ray": _ray_engine}
"""Each `--engine` and how it is built from `--ray-address` (Ray is imported only when chosen)."""
EngineName = StrEnum("EngineName", {name: name for name in ENGINES})


@dataclass
class EngineOptions:
    """Where the streamed pass over the training data computes (`auditor.scan.Engine`)."""

    engine: Annotated[
        EngineName,
        typer.Option("--engine", help="local: this machine's cores. ray: actors on a Ray "
                     "cluster run the hashing probes' per-batch work (exact, ngram, minhash, "
                     "containment, lexical, labels) and the sentence encoder (GPU actors with "
                     "--device cuda); the per-item results are folded together here, as with "
                     "local. Needs pip install 'audit[ray]'."),
    ] = EngineName.local  # fmt: skip
    ray_address: Annotated[
        str | None,
        typer.Option("--ray-address", help="With --engine ray: the Ray cluster to join "
                     "(ray start --head prints it); default: a local Ray started for the command."),
    ] = None  # fmt: skip

    def __post_init__(self) -> None:
        self.engine = str(self.engine)
        if self.ray_address is not None and self.engine != "ray":
            raise InputError(f"--ray-address {self.ray_address}: only --engine ray joins a "
                             "cluster. Add --engine ray, or drop --ray-address.")  # fmt: skip
        self.built: Engine = ENGINES[self.engine](self.ray_address)
        """The engine the pass runs on (built, not started: Ray starts when the pass does)."""


@dataclass
class JsonOutput:
    """What a command whose result is not a report prints (a control, an evaluation)."""

    format: Annotated[
        Listing, typer.Option("--format", "-f", help="table (rich) or json on stdout.")
    ] = Listing.table
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Also write the JSON here.")] = (
        None
    )

    def __post_init__(self) -> None:
        self.out = check_file(self.out, "--out")

    def emit(self, payload: str, quiet: bool) -> bool:
        """Write the JSON to `--out`; print it when asked (True: the caller prints a table)."""
        if self.out is not None:
            atomic_write_text(self.out, payload + "\n")
            note(f"wrote {self.out}", quiet)
        if self.format is Listing.json:
            print(payload)
            return False
        return True


@dataclass
class Output:
    """What a command prints and writes."""

    format: Annotated[OutputFormat, typer.Option("--format", "-f", help=_FORMAT_HELP)] = (
        OutputFormat.table
    )
    out: Annotated[
        list[Path] | None,
        typer.Option(
            "--out",
            "-o",
            help="Also write the report here, in the format its suffix names "
            f"({', '.join(f.suffix for f in FORMATS.values())}); repeatable.",
        ),
    ] = None
    top: Annotated[
        int, typer.Option("--top", min=0, help="Flagged or least typical items listed.")
    ] = 10
    paths: list[Path] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        self.format = str(self.format)
        self.paths = list(self.out or [])
        for path in self.paths:
            check_file(path, "--out")
            format_of(path)  # an unknown suffix fails now, not after the audit

    def write(self, quiet: bool, render_as: Callable[[str], str]) -> None:
        """Write every `--out` file atomically, each rendered in its suffix's format."""
        for path in self.paths:
            atomic_write_text(path, render_as(format_of(path).name))
            note(f"wrote {path}", quiet)

    def emit(self, report: Report, quiet: bool) -> None:
        """Write the report to every `--out` file, then print it in `--format` on stdout."""
        self.write(quiet, lambda fmt: render(report, fmt, self.top))
        if self.format == "table":
            print_table(report, stdout, self.top)
        else:
            sys.stdout.write(render(report, self.format, self.top))


def with_options(command: Callable[..., None]) -> Callable[..., None]:
    """Spread each parameter annotated with an option group into the group's CLI options, and
    gather them back into the group when the command runs."""
    hints = get_type_hints(command, include_extras=True)
    parameters: list[inspect.Parameter] = []
    groups: dict[str, type] = {}
    for name, parameter in inspect.signature(command).parameters.items():
        kind = hints.get(name)
        if dataclasses.is_dataclass(kind):
            groups[name] = kind
            group_hints = get_type_hints(kind, include_extras=True)
            parameters += [
                inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY,
                                  annotation=group_hints[f.name], default=f.default)
                for f in dataclasses.fields(kind) if f.init
            ]  # fmt: skip
        else:
            parameters.append(
                parameter.replace(kind=inspect.Parameter.KEYWORD_ONLY, annotation=hints[name])
            )

    @functools.wraps(command)
    def run(**values: Any) -> None:
        for name, kind in groups.items():
            names = [f.name for f in dataclasses.fields(kind) if f.init]
            values[name] = kind(**{key: values.pop(key) for key in names})
        return command(**values)

    run.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    run.__annotations__ = {p.name: p.annotation for p in parameters}
    return run


@dataclass
class ModelOptions:
    """How checkpoints may be loaded: safetensors and no checkpoint code unless asked."""

    allow_pickle: Annotated[
        bool,
        typer.Option("--allow-pickle",
                     help="Load pickle checkpoints (torch.load weights_only=True)."),
    ] = False  # fmt: skip
    trust_remote_code: Annotated[
        bool,
        typer.Option("--trust-remote-code", help="Run model code shipped with the checkpoint."),
    ] = False

    def load_kwargs(self) -> dict[str, bool]:
        return {"allow_pickle": self.allow_pickle, "trust_remote_code": self.trust_remote_code}
