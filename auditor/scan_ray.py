"""`--engine ray`: the pass's `prepare` step and the sentence encoder on the actors of a Ray
cluster.

The pass (`auditor.scan`) splits each batch's work into `prepare` (pure: tokenise, normalise,
hash against the fitted probe) and `absorb` (folds the output into the scan's state, in batch
order). This engine moves `prepare` to Ray and leaves `absorb`, and so every per-item result, on
the driver, in the same order as the local engine: the results are the local engine's by
construction, not by a merge of partial results.

Ray core actors, not Ray Data's `map_batches`, because:
- a prepared output is whatever the scan returns (sets of hashes, arrays, tuples), not rows of
  a table, and `map_batches` returns blocks of columns: each output would be pickled into a bytes
  column and the blocks re-chunked, while an actor returns the object as it is;
- the batches must stay the pass's batches (their row ranges key the embedding cache and the
  absorb order), where Ray Data re-slices blocks to its own sizes;
- the fitted scans are large (MinHash's LSH tables: megabytes) and read-only: they are put into
  the object store once (`ray.put`) and each actor deserialises them once, where a task per batch
  would deserialise them for every batch.

The driver reads each batch from the corpus's spool and ships its rows by value, so the workers
need no access to the driver's files (a multi-node cluster works); at most two batches per CPU
of the cluster are in flight, so the driver's memory is bounded by that window, as with the
local engine.

Only the scans of process-safe probes (`Probe.process_safe`: hashing and lookups, no torch) are
prepared on the actors. The others (the embedding, alignment and shift probes) read the driver's
embedding cache and keep state the pass shares, so they are prepared on driver threads as the
local engine prepares them; what moves is their encoder. `Encoder.encode` is the one place an
encoder computes, so the fit context's encoder is swapped for one with the same settings, cache
and cache key whose `encode` runs on encoder actors (GPU actors with `--device cuda`): the
benchmark's embeddings at fit and the corpus's in the pass are computed there, and cached here.
`audit index build` sends its batches to the same actors (`RayEngine.encodings`).
"""

import logging
import os
import socket
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from itertools import cycle

import numpy as np
import ray

from auditor.corpus import Corpus, CorpusBatch
from auditor.embeddings import Encoder, Precision
from auditor.errors import InputError
from auditor.scan import Job, Submit, prepared
from probes.base import FitContext, Probe, Scan, TrainBatch


def check_address(address: str) -> None:
    """A `HOST:PORT` (or `ray://HOST:PORT`) where nothing answers is an input error now: Ray
    itself retries for minutes before it gives up. Other forms (`auto`) are left to Ray."""
    host, colon, port = address.removeprefix("ray://").rpartition(":")
    if not (colon and host and port.isdigit()):
        return
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as error:
        raise InputError(f"--ray-address {address}: nothing answers there ({error}). Start "
                         "the cluster's head with `ray start --head` and pass the address it "
                         "prints, or drop --ray-address for a local Ray.") from None  # fmt: skip


@contextmanager
def session(address: str | None) -> Iterator[None]:
    """Connected to Ray for the block: the cluster at `address`, else a local one started here
    (one CPU per core, no dashboard, workers' logs kept out of the terminal) and shut down at
    the end. A driver already connected (a test's fixture) stays connected."""
    if ray.is_initialized():
        yield
        return
    if address is None:
        ray.init(address="local", num_cpus=os.cpu_count() or 1, include_dashboard=False,
                 log_to_driver=False, logging_level=logging.ERROR)  # fmt: skip
    else:
        try:
            ray.init(address=address, log_to_driver=False, logging_level=logging.ERROR)
        except ConnectionError as error:
            raise InputError(f"--ray-address {address}: could not join the cluster ({error}; "
                             f"{error.__cause__}). A cluster that asks for a token (Ray 2.59+ "
                             "`ray start`) is joined with RAY_AUTH_MODE=token set here and its "
                             "token in ~/.ray/auth_token or RAY_AUTH_TOKEN.") from None  # fmt: skip
    try:
        yield
    finally:
        ray.shutdown()


CPUS_EACH = 0.5
"""The CPU share each actor asks of Ray: one preparer and one encoder per CPU, so a pass with
both kinds of probe schedules both kinds of actor (at 1 CPU each, the encoders would hold every
CPU and the preparers would wait for ever)."""


@ray.remote(num_cpus=CPUS_EACH)
class _Preparer:
    """One worker's copy of the fitted scans (deserialised once), preparing batches by value."""

    def __init__(self, scans: list[Scan], features: frozenset[str], fingerprint: str,
                 total: int) -> None:  # fmt: skip
        self.scans, self.features = scans, features
        self.fingerprint, self.total = fingerprint, total

    def prepare(self, rows: CorpusBatch) -> list:
        batch = TrainBatch(rows, self.fingerprint, self.total, self.features)
        return prepared(batch, self.scans, self.features)


def _required(probes: list[Probe], chosen: list[bool]) -> frozenset[str]:
    """What the chosen probes declare in `requires` (what their side of a batch computes)."""
    return frozenset().union(*(p.requires for p, keep in zip(probes, chosen, strict=True) if keep))


@ray.remote(num_cpus=CPUS_EACH)
class _Encoding:
    """One worker's copy of the sentence encoder, named by model and settings (each node
    resolves and loads it itself)."""

    def __init__(self, model: str, max_length: int, batch_size: int, precision: Precision,
                 device: str) -> None:  # fmt: skip
        self.encoder = Encoder(model, max_length=max_length, batch_size=batch_size,
                               precision=precision, device=device)  # fmt: skip

    def encode(self, texts: list[str]) -> np.ndarray:
        return self.encoder.encode(texts)


@contextmanager
def _encoders(encoder: Encoder) -> Iterator[list]:
    """Encoder actors with `encoder`'s settings, one per CPU of the cluster (per GPU on `cuda`),
    computing in the precision `encoder` resolved here, which its cache key names."""
    gpu = encoder.device.startswith("cuda")
    count = max(1, int(ray.cluster_resources().get("GPU" if gpu else "CPU", 1)))
    settings = (encoder.model, encoder.max_length, encoder.batch_size, encoder.dtype_used,
                encoder.device)  # fmt: skip
    actors = [_Encoding.options(num_gpus=int(gpu)).remote(*settings) for _ in range(count)]
    try:
        yield actors
    finally:
        for actor in actors:
            ray.kill(actor)


class _RemoteEncoder(Encoder):
    """The driver's encoder (its settings, cache and cache key) computing on encoder actors:
    `encode`, the one place an `Encoder` computes, sends the texts to the next actor. Threads
    may call it at once (a pass prepares several batches)."""

    def __init__(self, encoder: Encoder, actors: list) -> None:
        super().__init__(encoder.model, max_length=encoder.max_length,
                         batch_size=encoder.batch_size, precision=encoder.dtype_used,
                         device=encoder.device, cache_dir=encoder.cache_dir)  # fmt: skip
        self.turns = cycle(actors)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        # A copy: what `ray.get` returns is a read-only view of the object store, and the local
        # encoder's callers get an array of their own.
        return np.array(ray.get(next(self.turns).encode.remote(list(texts))))


def _oldest(in_flight: deque) -> tuple:
    """The first job still in flight, with its result (waited for)."""
    job, ref = in_flight.popleft()
    return job, ray.get(ref)


class _Joined:
    """A batch prepared in two places: the actors' outputs and the driver threads', put back in
    the pass's scan order."""

    def __init__(self, remote: "ray.ObjectRef | None", local: Future | None,
                 on_ray: list[bool]) -> None:  # fmt: skip
        self.remote, self.local, self.on_ray = remote, local, on_ray

    def result(self) -> list:
        remote = iter(ray.get(self.remote) if self.remote is not None else [])
        local = iter(self.local.result() if self.local is not None else [])
        return [next(remote) if on_ray else next(local) for on_ray in self.on_ray]


class RayEngine:
    """Process-safe scans prepared on Ray actors, one per CPU of the cluster, the rest on driver
    threads; the encoder of both on encoder actors."""

    def __init__(self, address: str | None = None) -> None:
        if address is not None:
            check_address(address)
        self.address = address
        """The cluster to join (`ray.init(address=...)`); None starts a local one."""

    @contextmanager
    def encoding(self, context: FitContext, probes: Sequence[Probe]) -> Iterator[FitContext]:
        """Ray started for the fit and the pass, and the context's encoder on encoder actors
        when a probe embeds (`requires` "embeddings")."""
        with session(self.address):
            if context.encoder is None or not any("embeddings" in p.requires for p in probes):
                yield context
                return
            with _encoders(context.encoder) as actors:
                yield replace(context, encoder=_RemoteEncoder(context.encoder, actors))

    @contextmanager
    def workers(
        self, train: Corpus, scans: list[Scan], probes: list[Probe], features: frozenset[str]
    ) -> Iterator[tuple[Submit, int]]:
        on_ray = [bool(probe.process_safe) for probe in probes]
        remote = [scan for scan, safe in zip(scans, on_ray, strict=True) if safe]
        local = [scan for scan, safe in zip(scans, on_ray, strict=True) if not safe]
        remote_features = features & _required(probes, on_ray)
        local_features = features & _required(probes, [not safe for safe in on_ray])
        with session(self.address):
            count = max(1, int(ray.cluster_resources().get("CPU", 1)))
            window = 2 * count  # batches in flight: two per preparer, and per encoder
            actors = []
            if remote:
                shared = ray.put(remote)
                actors = [_Preparer.remote(shared, remote_features, train.fingerprint, len(train))
                          for _ in range(count)]  # fmt: skip
            turns, threads = cycle(actors), ThreadPoolExecutor(max_workers=window)

            def submit(rows: CorpusBatch, batch: TrainBatch) -> _Joined:
                there = next(turns).prepare.remote(rows) if remote else None
                here = threads.submit(prepared, batch, local, local_features) if local else None
                return _Joined(there, here, on_ray)

            try:
                with threads:
                    yield submit, window
            finally:
                for actor in actors:
                    ray.kill(actor)

    def encodings(
        self, encoder: Encoder, jobs: Iterable[tuple[Job, list[str]]]
    ) -> Iterator[tuple[Job, np.ndarray]]:
        """Each job's texts embedded by encoder actors (`_encoders`), two jobs in flight per
        actor, yielded in order."""
        with session(self.address), _encoders(encoder) as actors:
            turns, in_flight = cycle(actors), deque()
            for job, texts in jobs:
                in_flight.append((job, next(turns).encode.remote(texts)))
                if len(in_flight) > 2 * len(actors):
                    yield _oldest(in_flight)
            while in_flight:
                yield _oldest(in_flight)
