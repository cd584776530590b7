"""The sender the worker is given: each delivery to the channel of its type, the log for the rest."""

from __future__ import annotations

from engine.channels import secrets
from engine.channels.email import send_email
from engine.channels.robots import send_dingtalk, send_feishu, send_wecom
from engine.channels.sms import send_sms
from engine.errors import DeliveryFailed
from engine.policy.notifications import LOG_CHANNEL
from engine.scheduling.outbox import LoggingSender, Outgoing

SENDERS = {"email": send_email, "wecom": send_wecom, "dingtalk": send_dingtalk, "feishu": send_feishu,
           "sms": send_sms}


class ChannelSender:
    """Sends over SMTP, the group robots and the SMS gateway; logs what has no channel."""

    def __init__(self):
        self.log = LoggingSender()

    def send(self, outgoing: Outgoing) -> None:
        if outgoing.channel_type == LOG_CHANNEL:
            self.log.send(outgoing)
            return
        send = SENDERS.get(outgoing.channel_type)
        if send is None or not outgoing.settings:
            raise DeliveryFailed(f"channel {outgoing.channel!r} is not configured at this site", permanent=True)
        send(outgoing)

    def unavailable(self, channel_type: str, settings: dict, secrets_file: str | None) -> str | None:
        """Why this channel cannot be used here (a credential not set), or None."""
        return secrets.missing(settings, secrets_file)
