"""The one exception hierarchy of the engine.

Errors carry what a person needs to act on them, never an HTTP status: the web layer
maps each class to a status in one handler, and the CLI prints `str(error)` on one
line and exits 2 (1 for lint findings of severity error).
"""

from __future__ import annotations

from dataclasses import dataclass, field


class EngineError(Exception):
    """Base class: a failure the user caused or can fix, with a clear message (English, for
    programs and logs) and, where the raiser says it, the words for a person in Chinese (`zh`)."""

    def __init__(self, message: str, zh: str | None = None):
        super().__init__(message)
        self.message = message
        self.zh = zh

    def __str__(self) -> str:
        return self.message


class NotFound(EngineError):
    """A process, version, instance, task or user that does not exist."""


class BadInput(EngineError):
    """Input that cannot be used as given (malformed JSON, unknown option value)."""


class PermissionDenied(EngineError):
    """The actor may not do this (wrong role, not the assignee)."""


class SiteRefused(PermissionDenied):
    """A site that is not the person's, asked for by name: a new case there, its figures, its
    log, or a task given to them there (engine/accounts/sites.py)."""

    def __init__(self, username: str, site: str | None):
        super().__init__(f"{username} does not work at site {site!r}")
        self.username, self.site = username, site
class Refused(PermissionDenied):
    """Not allowed by a rule of the procedure (a private swap, a closed duty log), with the words
    for a person in Chinese (`zh`) and English (`en`); `message` is for programs and logs."""

    def __init__(self, message: str, zh: str, en: str | None = None):
        super().__init__(message)
        self.zh, self.en = zh, en or message


class TaskNotReady(EngineError):
    """The task exists but cannot be acted on now (completed, cancelled, claimed by another)."""


class ConflictError(EngineError):
    """The instance changed since it was read: reload and try again."""


class StepRaced(ConflictError):
    """Another step changed the case between this step's read and its write (or the
    database chose this step as a deadlock's victim): the step may simply run again."""


class NothingWaiting(EngineError):
    """A message or signal was sent that nothing in the instance waits for."""


class InstanceNotRunning(EngineError):
    """The instance is finished, cancelled or in error and cannot take this step."""


@dataclass
class FieldError:
    """One invalid form field: the JSON path of the field and what is wrong with it: `message`
    for programs (the API, the CLI), and where the engine knows them, the words for a person
    in Chinese (`zh`) and English (`en`)."""

    field: str
    message: str
    zh: str | None = None
    en: str | None = None


class FormInvalid(EngineError):
    """Form data that does not match the task's JSON Schema; one error per field."""

    def __init__(self, errors: list[FieldError]):
        self.errors = errors
        summary = "; ".join(f"{e.field or '(form)'}: {e.message}" for e in errors)
        super().__init__(f"form data is invalid: {summary}")


@dataclass(frozen=True)
class Finding:
    """One lint finding: where it is and what is wrong, printable as one line."""

    file: str
    line: int | None
    element_id: str | None
    severity: str  # "error" or "warning"
    message: str
    zh: str | None = None  # the same in Chinese, for the modeler; `message` stays the technical English

    def __str__(self) -> str:
        return f"{self.file}:{self.line or 0}: {self.element_id or '-'}: {self.severity}: {self.message}"


@dataclass
class DefinitionError(EngineError):
    """A process bundle that cannot be deployed; carries its structured findings."""

    findings: list[Finding] = field(default_factory=list)

    def __post_init__(self):
        errors = [f for f in self.findings if f.severity == "error"]
        first = str(errors[0]) if errors else "no findings"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(f"definition has errors: {first}{more}")


class ScriptError(EngineError):
    """A diagram expression or script failed, or was refused by the sandbox."""

    def __init__(self, message: str, element_id: str | None = None, line: int | None = None):
        self.element_id = element_id
        self.line = line
        where = f"{element_id}" + (f" line {line}" if line else "") if element_id else "expression"
        super().__init__(f"{where}: {message}")


class NotADiagram(BadInput):
    """A file brought in as a diagram whose root is not BPMN (or DMN) definitions: an SVG or
    XHTML page, say, which a browser would run scripts in. Nothing of it is kept."""

    def __init__(self, filename: str, root: str, expected: str):
        self.filename, self.root, self.expected = filename, root, expected
        super().__init__(f"{filename}: not a {expected} diagram (its root element is <{root}>); nothing was kept")


class DiagramTooLarge(BadInput):
    """A diagram file over the size a stored version may have; nothing of it is kept."""

    def __init__(self, filename: str, size: int, limit: int):
        self.filename, self.size, self.limit = filename, size, limit
        super().__init__(f"{filename}: {size} bytes, more than the {limit} a diagram may have; nothing was kept")


class DeliveryFailed(Exception):
    """A channel did not take a message (refused, timed out, answered with an error code).

    Not an `EngineError`: nobody's input caused it, and it never reaches a page. The
    worker retries it with backoff; `permanent` ones (no phone number, a refused
    address) cannot succeed by trying again and are dead-lettered at once.
    """

    def __init__(self, message: str, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


class AuditKeyMissing(EngineError):
    """The key that seals the audit trail is not configured (engine/audit/seal.py): nothing can be
    appended or verified without it. Server configuration, never the user's doing."""

    def __init__(self, missing_file: str | None = None):
        super().__init__("the audit key is not configured: set ESTATEDESK_AUDIT_KEY or ESTATEDESK_AUDIT_KEY_FILE"
                         + (f" (the key file {missing_file} does not exist)" if missing_file else ""))


class SecretKeyMissing(EngineError):
    """PostgreSQL means app processes that share one database, and without one secret key
    each draws its own: a login made on one process is refused by the next. Configuration,
    checked at start, never the user's doing."""

    def __init__(self):
        super().__init__("ESTATEDESK_SECRET_KEY is not set: app processes sharing PostgreSQL "
                         "need the same session key, or logins break between them")
