"""The probe options of `audit overlap`, `shift` and `run`: which probes, with which parameters.

`--probe NAME` (repeatable) picks registered probes; the command checks their kind before any
data is read. `--param NAME.KEY=VALUE` (repeatable) sets any constructor parameter of any probe,
converted to the type of its default, so a probe added by a plugin is configurable without a new
flag. Settings every probe may take (the seed, the encoder, the device, a training sample size)
reach each probe that takes them through `shared`.
"""

import inspect
from dataclasses import dataclass
from typing import Annotated, Any

import typer

from auditor.errors import InputError
from auditor.scan import DEFAULT_BATCH_SIZE
from probes import PROBES, build_probes, select_probes


@dataclass
class ProbeChoice:
    """Which probes a command runs, with which parameters."""

    probe: Annotated[
        list[str] | None,
        typer.Option("--probe", "-p", help="Probes to run (repeatable; default: all of the "
                     "command's kinds, plugins included)."),
    ] = None  # fmt: skip
    param: Annotated[
        list[str] | None,
        typer.Option("--param", help="A probe parameter, NAME.KEY=VALUE (repeatable), e.g. "
                     "ngram.dirty=0.7."),
    ] = None  # fmt: skip

    def names(self, kinds: tuple[str, ...], command: str) -> list[str]:
        return select_probes(self.probe, kinds, command)

    def params(
        self, extra: dict[str, dict[str, Any]] | None = None, selected: list[str] | None = None
    ) -> dict[str, dict]:
        """Per-probe parameters from `--param` (and a command's own shortcut flags). A `--param`
        of a probe that is not among `selected` is an error: it would be silently ignored."""
        params: dict[str, dict[str, Any]] = {k: dict(v) for k, v in (extra or {}).items()}
        for setting in self.param or []:
            target, equals, raw = setting.partition("=")
            name, dot, key = target.partition(".")
            if not (equals and dot and name and key):
                raise InputError(f"--param {setting}: write it as NAME.KEY=VALUE (ngram.n=10).")
            if selected is not None and name in PROBES.names() and name not in selected:
                raise InputError(f"--param {setting}: probe {name!r} is not run by this command "
                                 f"(it runs {', '.join(selected)}); add --probe {name}, or drop "
                                 "the setting.")  # fmt: skip
            default = _defaults(name).get(key, inspect.Parameter.empty)
            if default is inspect.Parameter.empty:
                known = ", ".join(_defaults(name)) or "none"
                raise InputError(f"--param {setting}: probe {name!r} has no parameter {key!r} "
                                 f"(it takes: {known}).")  # fmt: skip
            params.setdefault(name, {})[key] = _convert(setting, raw, default)
        return params

    def build(self, names: list[str], shared: dict[str, Any], extra=None) -> list:
        return build_probes(names, self.params(extra, names), shared=shared)


@dataclass
class ProbeOptions(ProbeChoice):
    """The probe choice of the commands that stream training data, and how they stream it."""

    encoder: Annotated[
        str, typer.Option("--encoder", help="Sentence encoder: minilm, a folder, or hf:ORG/NAME.")
    ] = "minilm"
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, help="Training items per streamed batch.")
    ] = DEFAULT_BATCH_SIZE


@dataclass
class CalibrationOptions:
    """How the calibrated overlap probes set their thresholds (`auditor.calibration`)."""

    fpr: Annotated[
        float,
        typer.Option("--fpr", min=0.0, max=0.5,
                     help="Target false-positive rate of the overlap verdict: containment, "
                     "embedding and alignment are combined into one test whose cut-off is set on "
                     "a null sample of training-document openings (0: fixed thresholds)."),
    ] = 0.01  # fmt: skip
    null_size: Annotated[
        int,
        typer.Option("--null-size", min=50, help="Training spans in the calibration's null "
                     "sample."),
    ] = 2000  # fmt: skip


def _defaults(name: str) -> dict[str, Any]:
    parameters = inspect.signature(PROBES.get(name)).parameters
    return {key: p.default for key, p in parameters.items()}


def _convert(setting: str, raw: str, default: Any) -> Any:
    """`raw` as the type of the parameter's default (bool, int, float or str)."""
    if isinstance(default, bool):
        if raw.lower() not in ("true", "false", "1", "0"):
            raise InputError(f"--param {setting}: expected true or false.")
        return raw.lower() in ("true", "1")
    for kind, what in ((int, "an integer"), (float, "a number")):
        if isinstance(default, kind):
            try:
                return kind(raw)
            except ValueError:
                raise InputError(f"--param {setting}: expected {what}.") from None
    return raw
