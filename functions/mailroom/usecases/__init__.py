"""Use cases shared by every entry point (the CLI, the API, local mode).

Plain functions over the Protocols of `mailroom.ports`: they build keys, provenance and
timestamps, validate input and page results, so that a command or a route only parses, calls
one of them and renders. They never import boto3, click or rich.

    files      queries on file records: list (by sender, case, date), one file, duplicates
    messages   one message with its files, messages by outcome (stuck `processing` included)
    reports    stats and cases
    uploads    local files into `incoming/<upload-id>/`, recorded like mail
    downloads  bytes out, checked against the recorded sha256; presigned links
"""
