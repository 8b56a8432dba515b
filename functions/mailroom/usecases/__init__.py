"""Use cases shared by every entry point (the CLI, the API, local mode).

Plain functions over the Protocols of `mailroom.ports`: they build keys, provenance and
timestamps, validate input and page results, so that a command or a route only parses, calls
one of them and renders. They never import boto3, click or rich.

    files      queries on file records: list (by sender, case, date), one file, duplicates
    messages   one message with its files, messages by outcome (stuck `processing` included)
    reports    stats and cases
    uploads    local files into `incoming/<upload-id>/`, recorded like mail
    downloads  bytes out, checked against the recorded sha256; presigned links
    reprocess  messages again from raw/ through the deployed extract function (async invoke)
    redrive    dead-letter queues back through their functions
    doctor     raw/ <-> records <-> incoming/ reconciliation and health checks
    imports    mbox, Maildir and .eml folders through the intake path
(the last four over the Protocols of `usecases/recovery_ports.py`)
"""
