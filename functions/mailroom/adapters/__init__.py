"""Adapters own boto3: everything that talks to S3 or DynamoDB lives here."""
