"""Email over SMTP (the standard library's smtplib): STARTTLS, implicit TLS or plain, with login,
each message as plain text and HTML.

Settings (notifications.yaml): host, port (587 for starttls, 465 for ssl, 25 for none),
security, from, and optionally username, password (a secret reference), ca_file (the CA
of a relay with a private certificate) and timeout. A deterministic Message-ID per
delivery lets a mailbox recognise a copy.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, parseaddr

from engine.channels import secrets
from engine.errors import DeliveryFailed
from engine.scheduling.messages import render
from engine.scheduling.outbox import Outgoing

DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}
DEFAULT_TIMEOUT = 15.0


def send_email(outgoing: Outgoing) -> None:
    """Mail the message to the one person the delivery is for."""
    settings = outgoing.settings
    (person,) = outgoing.recipients
    address = person.contact("email")
    if not address:
        raise DeliveryFailed(f"staff.yaml gives {person.username} no email address", permanent=True)
    rendered = render(outgoing.message, person.language, outgoing.base_url)
    mail = EmailMessage()
    mail["Subject"] = rendered.subject
    mail["From"] = settings["from"]
    mail["To"] = address
    mail["Date"] = formatdate(localtime=False)
    domain = parseaddr(settings["from"])[1].rpartition("@")[2] or "estatedesk"
    mail["Message-ID"] = f"<estatedesk.{outgoing.message.id}.{outgoing.delivery_id}@{domain}>"
    mail.set_content(rendered.text)
    mail.add_alternative(rendered.html, subtype="html")
    try:
        with _connect(settings) as smtp:
            if settings.get("username"):
                smtp.login(secrets.resolve(settings["username"], outgoing.secrets_file),
                           secrets.resolve(settings.get("password", ""), outgoing.secrets_file))
            smtp.send_message(mail)
    except smtplib.SMTPRecipientsRefused as exc:
        raise DeliveryFailed(f"the mail server refused {address}: {_first(exc.recipients)}", permanent=True) from None
    except smtplib.SMTPResponseException as exc:
        text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
        raise DeliveryFailed(f"the mail server answered {exc.smtp_code}: {text}") from None
    except (smtplib.SMTPException, OSError) as exc:  # refused, timed out, TLS failed
        raise DeliveryFailed(f"mail to {settings['host']}:{_port(settings)} failed: {exc or type(exc).__name__}") \
            from None


def _connect(settings: dict) -> smtplib.SMTP:
    security = settings.get("security", "starttls")
    host, port, timeout = settings["host"], _port(settings), settings.get("timeout", DEFAULT_TIMEOUT)
    context = ssl.create_default_context(cafile=settings.get("ca_file"))
    if security == "ssl":
        return smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
    smtp = smtplib.SMTP(host, port, timeout=timeout)
    try:
        if security == "starttls":
            smtp.starttls(context=context)
    except BaseException:
        smtp.close()
        raise
    return smtp


def _port(settings: dict) -> int:
    return settings.get("port") or DEFAULT_PORTS[settings.get("security", "starttls")]


def _first(refused: dict) -> str:
    code, text = next(iter(refused.values()), (None, b""))
    return f"{code} {text.decode('utf-8', 'replace') if isinstance(text, bytes) else text}"
