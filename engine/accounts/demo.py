"""The demo accounts (password "demo") exist only in a database set up with them.

The first `estatedesk init` decides, and the database keeps the decision: without
`--demo` it never gets them, however often init runs again, so a site's live database
cannot grow a manager account with a published password by a slip of the command line.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from engine.errors import BadInput
from engine.store.settings import DatabaseSetting

DEMO_SETTING = "demo_accounts"


def settle_demo(session: Session, asked: bool) -> bool:
    """Whether this init gives the accounts it creates the demo password: `asked`, if the
    database allows it. The first call on a database records the answer; `asked` on a database
    set up without them is refused (`BadInput`)."""
    setting = session.get(DatabaseSetting, DEMO_SETTING)
    if setting is None:
        session.add(DatabaseSetting(name=DEMO_SETTING, value="yes" if asked else "no"))
    elif asked and setting.value != "yes":
        raise BadInput("this database was set up without the demo accounts (password 'demo'); "
                       "they are never added to it later")
    return asked
