"""Reading a saved report: validated, every problem an input error naming the file and the fix.

`audit render` and `audit gate` read reports written by another run, possibly on another machine
or edited by hand; nothing they read may reach a renderer or the gate unchecked.
"""

import json
from pathlib import Path

from pydantic import ValidationError

from auditor.errors import InputError
from auditor.report import READABLE_VERSIONS, REPORTS, Report


def validation_message(error: ValidationError, limit: int = 3) -> str:
    """A pydantic error as one line per problem, `field.path: what is wrong (got VALUE)`,
    without pydantic's URLs and type names: the user reads which field to fix."""
    lines = []
    for problem in error.errors()[:limit]:
        where = ".".join(str(part) for part in problem["loc"]) or "(top level)"
        got = "" if problem["type"] == "missing" else f" (got {problem.get('input')!r:.60})"
        lines.append(f"{where}: {problem['msg']}{got}")
    more = error.error_count() - limit
    return "; ".join(lines) + (f"; and {more} more" if more > 0 else "")


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is no number an audit writes")


def read_report(path: Path, kinds: tuple[str, ...] = tuple(REPORTS)) -> Report:
    """A saved report of one of `kinds`, validated; any problem is an input error naming the
    file and the fix (never a traceback). NaN and Infinity are refused: an audit writes
    undefined values as null, so a NaN comes from an edit, and every comparison with it is
    false (a NaN drift score would pass any limit)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"), parse_constant=_reject_constant)
    except OSError as error:
        raise InputError(f"{path}: cannot read the report ({error.strerror}).") from error
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: not a JSON report ({error}).") from error
    except (ValueError, RecursionError) as error:
        raise InputError(f"{path}: not a valid report ({error}).") from error
    if not isinstance(data, dict):
        raise InputError(f"{path}: not an audit report (a JSON {type(data).__name__}).")
    version = data.get("schema_version")
    if version not in READABLE_VERSIONS:
        readable = " and ".join(map(str, READABLE_VERSIONS))
        raise InputError(
            f"{path}: report schema_version {version!r}, this audit reads {readable}. "
            "Regenerate the report with this version of audit (`audit run ... --out FILE`)."
        )
    kind = data.get("report")
    if kind not in kinds:
        wanted = " or ".join(f"`audit {k}`" for k in kinds)
        raise InputError(f"{path}: a {kind!r} report; expected a report of {wanted}.")
    try:
        return REPORTS[kind].model_validate(data)
    except ValidationError as error:
        raise InputError(
            f"{path}: not a valid {kind} report: {validation_message(error)}. Regenerate it "
            f"with `audit {kind} ... --out FILE`; a report is not meant to be edited."
        ) from error
