"""The two consoles: stdout for results, stderr for progress, notes and errors."""

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

# Dataset text is printed through these consoles: no emoji codes (":train:" is a train emoji)
# and no automatic highlighting; markup in dataset strings is escaped where it is printed.
stdout = Console(soft_wrap=False, emoji=False, highlight=False)
stderr = Console(stderr=True, emoji=False, highlight=False)


PLAIN_EVERY_S = 10.0
"""Off a terminal, at most one progress line per stage this often (plus the stage's end)."""


def plain_progress(
    write: Callable[[str], None],
    every: float = PLAIN_EVERY_S,
    clock: Callable[[], float] = time.monotonic,
) -> Callable[[str, int, int], None]:
    """A callback `(stage, done, total)` writing plain lines (`stage: 1,024/5,452 items (19%),
    12 s`): a CI log or a redirected stderr gets a line when a stage starts, at most one per
    `every` seconds while it runs, and one when it ends, so a long audit shows it is alive
    without flooding the log."""
    started: dict[str, float] = {}
    last: dict[str, float] = {}
    ended: set[str] = set()

    def update(stage: str, done: int, total: int) -> None:
        now = clock()
        started.setdefault(stage, now)
        finished = total > 0 and done >= total
        if stage in ended or (stage in last and now - last[stage] < every and not finished):
            return
        last[stage] = now
        share = f" ({done / total:.0%})" if total > 0 else ""
        write(f"{stage}: {done:,}/{total:,}{share}, {now - started[stage]:.0f} s"
              + (", done" if finished else ""))  # fmt: skip
        if finished:
            ended.add(stage)

    return update


@contextmanager
def progress_bar(quiet: bool) -> Iterator[Callable[[str, int, int], None]]:
    """A callback `(stage, done, total)` drawing one bar per stage on stderr.

    On a terminal, rich bars; off one (CI logs, `2> log`), plain rate-limited lines
    (`plain_progress`), since rich would draw nothing and a long audit would look hung;
    `--quiet` drops both.
    """
    if quiet:
        yield lambda stage, done, total: None
        return
    if not stderr.is_terminal:
        yield plain_progress(lambda line: stderr.print(line, markup=False, soft_wrap=True))
        return
    columns = (
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()
    )  # fmt: skip
    with Progress(*columns, console=stderr, transient=True) as progress:
        tasks: dict[str, int] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage, total=total)
            progress.update(tasks[stage], completed=done, total=total)

        yield update


def note(message: str, quiet: bool) -> None:
    if not quiet:
        stderr.print(f"[dim]{escape(message)}[/dim]")
