"""The `estatedesk` command (Click): above the engine and the web app, it composes both.

    main       the group, its global options, the exit code of every outcome
    context    exit codes, command classes, shared options, the database opened on first use
    output     local times and step results as the commands print them
    library    init, lint, deploy, import
    cases      start, tasks, complete, claim, send, cancel, retry, comment, show
    audit      audit verify, stats rebuild
    tokens     token create / revoke / list
    serve      worker, report, serve (the last two hand over to the web layer)

May import: `engine` and `web`; neither imports it.
"""
