"""The `estatedesk` command: above the engine and the web app, it composes both."""
