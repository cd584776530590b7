"""Channels: the senders that take the outbox's deliveries to people outside the app.

SMTP email, the group robots of WeCom (企业微信), DingTalk (钉钉) and Feishu (飞书), and a
configurable SMS gateway, each configured per site in notifications.yaml with credentials
from the environment or a secrets file. `ChannelSender` is what the worker is given.
May import: every engine layer below the runtime (it needs the outbox's `Outgoing`).
"""
