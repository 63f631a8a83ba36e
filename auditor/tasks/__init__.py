"""Task types: what a benchmark asks and how a model is trained and scored on it.

`TASKS` maps a task type (a card's `task`, or what `task_of` infers for a local file) to a `Task`
(auditor/tasks/base.py): the model head it needs, how training items become examples, the
validation metric of control training, and the evaluator. Everything that differs between task
types lives behind that one object, so the pipeline looks a task up instead of branching on its
name. Entries are lazy "module:attr" strings: importing this package or listing tasks imports
no torch.
"""

from typing import TYPE_CHECKING

from auditor.tasks.spec import TaskSpec, choice_index, extract_answer, same_answer, task_of
from probes.registry import Registry

if TYPE_CHECKING:
    from auditor.tasks.base import Task

TASKS: "Registry[Task]" = Registry("task")
TASKS.register("classification", "auditor.tasks.classification:TASK")
TASKS.register("generation", "auditor.tasks.generation:TASK")
TASKS.register("multiple_choice", "auditor.tasks.multiple_choice:TASK")

__all__ = ["TASKS", "TaskSpec", "choice_index", "extract_answer", "same_answer", "task_of"]
