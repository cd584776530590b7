"""Comments (备注) on a case: free text added to its record beside the steps.

A comment is an audit event of its own (`comment_added`), so it sits in the hash chain
with who wrote it and when. It changes neither the workflow nor the case's version, so
a form someone has open on the case stays valid, and a closed case can still be noted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from engine.accounts.users import STAFF_ROLES, Actor
from engine.definitions.forms import validate_form_data
from engine.errors import PermissionDenied

MAX_LENGTH = 2000
SCHEMA = {
    "type": "object",
    "required": ["text"],
    "additionalProperties": False,
    "properties": {
        "text": {"type": "string", "title": "备注", "x-title-en": "Comment", "maxLength": MAX_LENGTH,
                 # Not blank, and no NUL, which PostgreSQL cannot store.
                 "pattern": r"^[^\x00]*[^\s\x00][^\x00]*$",
                 "x-pattern-hint": "请填写备注内容", "x-pattern-hint-en": "write the comment: it must not be blank",
                 "description": "看到的情况、与住户的沟通等，写入案件记录",
                 "x-description-en": "What you saw, what the resident said: it goes into the case record"},
    },
}


@dataclass(frozen=True)
class Comment:
    reference: str
    at: datetime
    actor: str
    text: str


def comment_data(data) -> dict:
    """A comment's event data, `{"text": ...}` without surrounding blanks; `FormInvalid` if unusable."""
    if isinstance(data, dict) and isinstance(data.get("text"), str):
        data = {**data, "text": data["text"].strip()}
    return validate_form_data(SCHEMA, data)


def check_may_comment(who: Actor, started_by: str | None) -> None:
    """Staff who work on cases may comment; so may whoever opened the case (a resident)."""
    if not who.roles & set(STAFF_ROLES) and who.username != started_by:
        raise PermissionDenied(f"{who.username} may not comment on this case")
