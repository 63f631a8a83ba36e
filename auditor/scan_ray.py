"""`--engine ray`: the pass's `prepare` step, and `audit index build`'s encoding, on the actors
of a Ray cluster.

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
need no access to the driver's files (a multi-node cluster works); at most `2 x actors` batches
are in flight, so the driver's memory is bounded by that window, as with the local engine.

Only the scans of process-safe probes (`Probe.process_safe`: hashing and lookups, no torch) run
on the actors. The others (the embedding, alignment and shift probes, whose `prepare` runs the
sentence encoder through the driver's embedding cache) are prepared on driver threads exactly
as the local engine prepares them: an audit's encoder does not run on Ray. `audit index build`'s
does (`RayEngine.encodings`): there the encoding is the whole job, with no probe state, so
encoder actors embed the batches' texts and the driver writes the arrays to its cache, under the
keys the probes read; the way to embed a large corpus on a cluster is to index it first.
"""

import logging
import os
import socket
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from itertools import cycle

import numpy as np
import ray

from auditor.corpus import Corpus, CorpusBatch
from auditor.embeddings import Encoder, Precision
from auditor.errors import InputError
from auditor.scan import WORKERS, Job, Submit, prepared
from probes.base import Probe, Scan, TrainBatch


def check_address(address: str) -> None:
    """A `HOST:PORT` (or `ray://HOST:PORT`) where nothing answers is an input error now: Ray
    itself retries for minutes before it gives up. Other forms (`auto`) are left to Ray."""
    host, colon, port = address.removeprefix("ray://").rpartition(":")
    if not (colon and host and port.isdigit()):
        return
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as error:
        raise InputError(f"--ray-address {address}: nothing answers there ({error}). Start the "
                         "cluster's head with `ray start --head` and pass the address it "
                         "prints, or drop --ray-address to start a local Ray.") from None


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
                             "token in ~/.ray/auth_token or RAY_AUTH_TOKEN.") from None
    try:
        yield
    finally:
        ray.shutdown()


@ray.remote(num_cpus=1)
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


@ray.remote(num_cpus=1)
class _Encoding:
    """One worker's copy of the sentence encoder, named by model and settings (each node
    resolves and loads it itself)."""

    def __init__(self, model: str, max_length: int, batch_size: int, precision: Precision,
                 device: str) -> None:  # fmt: skip
        self.encoder = Encoder(model, max_length=max_length, batch_size=batch_size,
                               precision=precision, device=device)  # fmt: skip

    def encode(self, texts: list[str]) -> np.ndarray:
        return self.encoder.encode(texts)


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
    """Process-safe scans prepared on Ray actors, one per CPU of the cluster; the rest on driver
    threads."""

    def __init__(self, address: str | None = None) -> None:
        if address is not None:
            check_address(address)
        self.address = address
        """The cluster to join (`ray.init(address=...)`); None starts a local one."""

    @contextmanager
    def workers(
        self, train: Corpus, scans: list[Scan], probes: list[Probe], features: frozenset[str]
    ) -> Iterator[tuple[Submit, int]]:
        on_ray = [bool(probe.process_safe) for probe in probes]
        remote = [scan for scan, safe in zip(scans, on_ray, strict=True) if safe]
        local = [scan for scan, safe in zip(scans, on_ray, strict=True) if not safe]
        remote_features = features & _required(probes, on_ray)
        local_features = features & _required(probes, [not safe for safe in on_ray])
        with session(self.address), ThreadPoolExecutor(max_workers=WORKERS) as threads:
            actors = []
            if remote:
                shared = ray.put(remote)
                count = max(1, int(ray.cluster_resources().get("CPU", 1)))
                actors = [_Preparer.remote(shared, remote_features, train.fingerprint, len(train))
                          for _ in range(count)]  # fmt: skip
            turns = cycle(actors)

            def submit(rows: CorpusBatch, batch: TrainBatch) -> _Joined:
                there = next(turns).prepare.remote(rows) if remote else None
                here = threads.submit(prepared, batch, local, local_features) if local else None
                return _Joined(there, here, on_ray)

            try:
                yield submit, 2 * len(actors) or WORKERS
            finally:
                for actor in actors:
                    ray.kill(actor)

    def encodings(
        self, encoder: Encoder, jobs: Iterable[tuple[Job, list[str]]]
    ) -> Iterator[tuple[Job, np.ndarray]]:
        """Each job's texts embedded by encoder actors, one per CPU of the cluster (per GPU on
        `cuda`), two jobs in flight per actor, yielded in order. The actors compute in the
        precision this process's encoder resolved, which its cache key names."""
        gpu = encoder.device.startswith("cuda")
        with session(self.address):
            count = max(1, int(ray.cluster_resources().get("GPU" if gpu else "CPU", 1)))
            settings = (encoder.model, encoder.max_length, encoder.batch_size,
                        encoder.dtype_used, encoder.device)  # fmt: skip
            actors = [_Encoding.options(num_gpus=int(gpu)).remote(*settings)
                      for _ in range(count)]  # fmt: skip
            turns, in_flight = cycle(actors), deque()
            try:
                for job, texts in jobs:
                    in_flight.append((job, next(turns).encode.remote(texts)))
                    if len(in_flight) > 2 * count:
                        yield _oldest(in_flight)
                while in_flight:
                    yield _oldest(in_flight)
            finally:
                for actor in actors:
                    ray.kill(actor)
