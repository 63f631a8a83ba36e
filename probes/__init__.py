"""Probes: ways of scoring each benchmark item against a training corpus.

Each probe family is one module; `PROBES` maps names to classes, lazily, so listing them imports
nothing heavy. Third-party probes register through the `audit.probes` entry-point group.
"""

from probes.registry import Registry

PROBES: Registry = Registry("probe", entry_point_group="audit.probes")
PROBES.register("exact", "probes.exact:ExactProbe")
PROBES.register("ngram", "probes.ngram:NgramProbe")
PROBES.register("minhash", "probes.minhash:MinHashProbe")
PROBES.register("embedding", "probes.embedding:EmbeddingProbe")
PROBES.register("mmd", "probes.mmd:MmdProbe")
PROBES.register("c2st", "probes.c2st:C2stProbe")
PROBES.register("typicality", "probes.typicality:TypicalityProbe")
PROBES.register("labels", "probes.labels:LabelsProbe")
PROBES.register("lexical", "probes.lexical:LexicalProbe")

OVERLAP_PROBES = ("exact", "ngram", "minhash", "embedding")
"""The overlap probes `audit overlap` runs by default, in report order."""

SHIFT_PROBES = ("mmd", "c2st", "typicality", "labels", "lexical")
"""The shift probes `audit shift` runs by default, in report order."""
