"""Choosing the text, label, answer and id fields of a record, and reading nested field paths.

Detection tries common names in order and, when nothing fits, fails with the list of available
columns; `--text-field` / `--label-field` override it. A field path is dotted (`choices.text`);
a template is a string with `{field.path}` placeholders, in which a typed `\\n` or `\\t` (as a
shell passes `'{question}\\n{answer}'`) is a newline or a tab. Lists of strings are joined with
newlines; chat records (`messages` / `conversations`, lists of role/content turns) become
`role: content` lines; numbers become their decimal text. Anything else in a text field (a
boolean, an object, a list of objects or lists) is an error naming the field: written out as
Python's repr (`True`, `{'a': 'b'}`) it would be audited as if it were the item's text.
"""

import re
from collections.abc import Mapping, Sequence
from typing import Any

from auditor.errors import InputError

TEXT_FIELDS = (
    "text", "sentence", "question", "input", "prompt", "content", "document", "problem",
    "query", "instruction", "premise", "passage", "messages", "conversations",
)  # fmt: skip
LABEL_FIELDS = ("label", "labels", "class", "category", "coarse_label", "answerkey")
ANSWER_FIELDS = ("answer", "target", "output", "solution", "completion", "response")
ID_FIELDS = ("id", "idx", "uid", "guid", "task_id", "unique_id")

_MISSING = object()
_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")


def detect(columns: Sequence[str], candidates: Sequence[str]) -> str | None:
    """The first candidate present in `columns` (case-insensitive), or None."""
    by_lower = {column.lower(): column for column in columns}
    for candidate in candidates:
        if candidate in by_lower:
            return by_lower[candidate]
    return None


def resolve(record: Mapping[str, Any], path: str) -> Any:
    """The value at dotted `path` in `record`, or `_MISSING`."""
    value: Any = record
    for part in path.split("."):
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        else:
            return _MISSING
    return value


def is_template(spec: str) -> bool:
    return "{" in spec


def template_fields(template: str) -> list[str]:
    return _PLACEHOLDER.findall(template)


def as_text(value: Any) -> str:
    """Render a field value as the text a model would read."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and "content" in value:
        role = value.get("role") or value.get("from") or ""
        content = as_text(value["content"])
        return f"{role}: {content}" if role else content
    if isinstance(value, Mapping) and "value" in value:  # ShareGPT turns: {"from", "value"}
        return f"{value.get('from', '')}: {as_text(value['value'])}".lstrip(": ")
    if isinstance(value, Sequence) and not isinstance(value, bytes):
        return "\n".join(as_text(item) for item in value)
    return "" if value is None else str(value)


def _is_turn(value: Any) -> bool:
    return isinstance(value, Mapping) and ("content" in value or "value" in value)


def _text_shape_error(value: Any) -> str | None:
    """Why `value` cannot be read as text, or None when it can (see the module docstring)."""
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if value is None or isinstance(value, str | int | float):
        return None
    if isinstance(value, Mapping):
        return None if _is_turn(value) else f"an object with keys {list(value)[:5]}"
    if isinstance(value, Sequence) and not isinstance(value, bytes):
        for item in value:
            plain = isinstance(item, str | int | float) and not isinstance(item, bool)
            if not plain and not _is_turn(item):
                return f"a list holding {type(item).__name__} values"
        return None
    return f"a {type(value).__name__}"


def text_value(value: Any, name: str, where: str) -> str:
    """`value` of text field `name` as text, or an input error naming the field."""
    problem = _text_shape_error(value)
    if problem is not None:
        raise InputError(
            f"{where}: the text field {name!r} holds {problem}, not text. Name the field that "
            "holds the text with --text-field (a dotted path such as 'turn.content' reaches "
            "inside an object)."
        )
    return as_text(value)


def expand_escapes(template: str) -> str:
    """`\\n` and `\\t` typed in a template as the newline and tab they stand for."""
    return template.replace("\\n", "\n").replace("\\t", "\t")


def extract_text(record: Mapping[str, Any], spec: str, where: str) -> str:
    """The text of `record` from a field path or a template; `where` names the record."""
    if not is_template(spec):
        value = resolve(record, spec)
        if value is _MISSING:
            raise missing_field_error(spec, list(record), where)
        return text_value(value, spec, where)
    values = {}
    for name in template_fields(spec):
        value = resolve(record, name)
        if value is _MISSING:
            raise missing_field_error(name, list(record), where)
        values[name] = text_value(value, name, where)
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], expand_escapes(spec))


def optional_value(record: Mapping[str, Any], path: str | None) -> Any:
    if path is None:
        return None
    value = resolve(record, path)
    return None if value is _MISSING else value


def missing_field_error(name: str, columns: list[str], where: str) -> InputError:
    return InputError(
        f"{where}: no field {name!r}. Available fields: {', '.join(map(str, columns)) or 'none'}. "
        "Choose the text with --text-field (a field name, a dotted path, or a template such as "
        "'{question}\\n{answer}') and the label with --label-field."
    )
