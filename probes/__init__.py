"""Probes: ways of scoring each benchmark item against a training corpus.

Each probe family is one module; `PROBES` maps names to classes, lazily, so listing them imports
nothing heavy. Third-party probes register through the `audit.probes` entry-point group and run
by default beside the built-ins: a command runs every registered probe of its kind
(`probes_of_kind`), in registration order.
"""

from probes.registry import Registry

PROBES: Registry = Registry("probe", entry_point_group="audit.probes")
PROBES.register("exact", "probes.exact:ExactProbe")
PROBES.register("ngram", "probes.ngram:NgramProbe")
PROBES.register("containment", "probes.containment:ContainmentProbe")
PROBES.register("minhash", "probes.minhash:MinHashProbe")
PROBES.register("embedding", "probes.embedding:EmbeddingProbe")
PROBES.register("alignment", "probes.alignment:AlignmentProbe")
PROBES.register("mmd", "probes.mmd:MmdProbe")
PROBES.register("c2st", "probes.c2st:C2stProbe")
PROBES.register("typicality", "probes.typicality:TypicalityProbe")
PROBES.register("labels", "probes.labels:LabelsProbe")
PROBES.register("lexical", "probes.lexical:LexicalProbe")
PROBES.register("loss", "probes.loss:LossProbe")
PROBES.register("zlib", "probes.zlib:ZlibProbe")
PROBES.register("mink", "probes.mink:MinKProbe")
PROBES.register("minkpp", "probes.minkpp:MinKPlusPlusProbe")
PROBES.register("reference", "probes.reference:ReferenceProbe")
PROBES.register("rewrite", "probes.rewrite:RewriteProbe")


def probes_of_kind(*kinds: str) -> list[str]:
    """Names of every registered probe of these kinds, in registration order."""
    return [name for name in PROBES.names() if PROBES.get(name).kind in kinds]


def select_probes(names: list[str] | None, kinds: tuple[str, ...], command: str) -> list[str]:
    """The probes a command runs: `names` (checked: registered, and of one of the command's
    kinds; anything else is an input error naming the fix) or every probe of its kinds."""
    from auditor.errors import InputError

    allowed = probes_of_kind(*kinds)
    for name in names or []:
        kind = PROBES.get(name).kind  # an unknown name fails here, with a did-you-mean
        if kind not in kinds:
            article = "an" if kind[0] in "aeiou" else "a"
            raise InputError(
                f"--probe {name}: {article} {kind} probe; `{command}` runs "
                f"{' and '.join(kinds)} probes: {', '.join(allowed)}."
            )
    return list(names) if names else allowed


def build_probes(
    names: list[str],
    params: dict[str, dict] | None = None,
    *,
    shared: dict | None = None,
) -> list:
    """Instantiate registered probes by name. `params` are per probe ({name: {key: value}});
    an unknown key is an input error. `shared` settings (seed, encoder model, device, training
    sample size) go to every probe whose constructor takes them, under its own `params`."""
    import inspect

    from auditor.errors import InputError
    from probes.base import ParamError

    built = []
    for name in names:
        cls = PROBES.get(name)
        accepted = inspect.signature(cls).parameters
        own = dict((params or {}).get(name, {}))
        unknown = sorted(set(own) - set(accepted))
        if unknown:
            known = ", ".join(key for key in accepted) or "none"
            raise InputError(f"probe {name!r} has no parameter {unknown[0]!r} (it takes: {known}).")
        common = {key: value for key, value in (shared or {}).items() if key in accepted}
        probe = cls(**{**common, **own})
        try:
            probe.check_params()
        except ParamError as error:
            raise InputError(
                f"--param {name}.{error.key}: {error}. Set it with --param "
                f"{name}.{error.key}=VALUE (or the command's own option for it)."
            ) from None
        built.append(probe)
    return built
