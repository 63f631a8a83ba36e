"""The two consoles: stdout for results, stderr for progress, notes and errors."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

# Dataset text is printed through these consoles: no emoji codes (":train:" is a train emoji)
# and no automatic highlighting; markup in dataset strings is escaped where it is printed.
stdout = Console(soft_wrap=False, emoji=False, highlight=False)
stderr = Console(stderr=True, emoji=False, highlight=False)


@contextmanager
def progress_bar(quiet: bool) -> Iterator[Callable[[str, int, int], None]]:
    """A callback `(stage, done, total)` drawing one bar per stage on stderr.

    Rich hides the bars when stderr is not a terminal (CI logs stay clean); `--quiet` drops them.
    """
    if quiet:
        yield lambda stage, done, total: None
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
