"""Exit codes and the one exception type that turns bad input into exit code 2.

Every input problem a user can fix (a missing file, a malformed line, an unknown card) is raised
as `InputError` with a message that names the file, line or field and says what to do; the CLI
prints it and exits 2. Anything else escaping a command is a bug and exits 3.
"""

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    GATE_FAILED = 1
    INPUT_ERROR = 2
    INTERNAL_ERROR = 3


class InputError(Exception):
    """A problem with what the user gave us; the message says where and how to fix it."""

    exit_code = ExitCode.INPUT_ERROR
