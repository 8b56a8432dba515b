"""Use cases shared by every entry point (the CLI, the API, local mode).

Plain functions over the Protocols of `mailroom.ports` (never `mailroom.adapters`): they build
keys, provenance and timestamps, validate input and page results, so that a command or a route
only parses, calls one of them and renders. They never import boto3, click or rich.

    intake     one SES message: policy, extraction, its message record (extract_attachments)
    recording  one object under incoming/: its file record (record_metadata)
    forwards   the trust level of a forward's original sender, decided before its files land
    upload_recording  an upload's record from what the uploader cannot write
    params     query strings and JSON bodies checked into the requests below
    files      queries on file records: list (by sender, case, date), one file, duplicates
    messages   one message with its files, messages by outcome (stuck `processing` included)
    reports    stats and cases
    uploads    local files into `incoming/<upload-id>/`, recorded like mail
    downloads  bytes out, checked against the recorded sha256; presigned links
    reprocess  messages again from raw/ through the deployed extract function (async invoke)
    redrive    dead-letter queues back through their functions
    doctor     raw/ <-> records <-> incoming/ reconciliation and health checks
    imports    mbox, Maildir and .eml folders through the intake path
"""
