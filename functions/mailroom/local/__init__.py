"""Local mode: the offline stand-in for AWS (emulator, SES-like SMTP front door, Lambda runner,
bucket-notification dispatcher). The handlers run unchanged; nothing here is imported by them.

Heavy imports (moto, aiosmtpd, boto3) live in the submodules; `mailroom.local.state` stays light.
"""
