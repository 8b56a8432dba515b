data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition

  # Globally unique and predictable: the account and region are part of the name.
  bucket_name     = "${var.name_prefix}-${local.account_id}-${var.region}"
  log_bucket_name = "${var.name_prefix}-${local.account_id}-${var.region}-logs"
  table_name      = "${var.name_prefix}-documents"

  # The key layout of the bucket, shared with the functions' environment (settings.py).
  raw_prefix        = "raw/"
  incoming_prefix   = "incoming/"
  quarantine_prefix = "quarantine/"
  # `mailroom upload` writes incoming/<upload-id>/..., and upload ids start "up-"
  # (functions/mailroom/cli/main.py, new_upload_id): the uploader policy's only write.
  upload_prefix = "${local.incoming_prefix}up-"
  # Issue 22: case export zips built by the export function; expired after a day (s3.tf).
  exports_prefix = "exports/"

  rule_set_name = "${var.name_prefix}-rules"
  rule_name     = "${var.name_prefix}-store-and-extract"
  # Built from names, not resource attributes, so the bucket policy, the key policy and the
  # Lambda permission can name the rule that depends on them without a cycle.
  rule_arn = "arn:${local.partition}:ses:${var.region}:${local.account_id}:receipt-rule-set/${local.rule_set_name}:receipt-rule/${local.rule_name}"

  function_zip = coalesce(var.function_zip, "${path.module}/../build/lambda/function.zip")
  layer_zip    = coalesce(var.layer_zip, "${path.module}/../build/lambda/layer.zip")

  # One zip, one handler string per function.
  functions = {
    extract_attachments = {
      name        = "${var.name_prefix}-extract-attachments"
      handler     = "mailroom.handlers.extract_attachments.handler"
      description = "SES receipt: extract the raw message's attachments into incoming/ and record the message"
      memory      = var.lambda_memory_mb.extract_attachments
      timeout     = var.lambda_timeout_seconds.extract_attachments
      concurrency = var.lambda_reserved_concurrency.extract_attachments
    }
    record_metadata = {
      name        = "${var.name_prefix}-record-metadata"
      handler     = "mailroom.handlers.record_metadata.handler"
      description = "S3 ObjectCreated under incoming/: write each file's metadata record"
      memory      = var.lambda_memory_mb.record_metadata
      timeout     = var.lambda_timeout_seconds.record_metadata
      concurrency = var.lambda_reserved_concurrency.record_metadata
    }
    # Issue 22: the dashboard's "Export case" and `mailroom export --with-raw` (asynchronous
    # invokes from the api and from admins). It streams the zip into a multipart upload: memory
    # holds one 8 MB part, so its memory buys CPU (hashing) and network, not room.
    export_case = {
      name        = "${var.name_prefix}-export-case"
      handler     = "mailroom.handlers.export_case.handler"
      description = "Build a case export job's zip (documents, manifest, signed SHA256SUMS) under exports/"
      memory      = var.lambda_memory_mb.export_case
      timeout     = var.lambda_timeout_seconds.export_case
      concurrency = var.lambda_reserved_concurrency.export_case
    }
  }

  # What a function reads besides the common settings (settings.py: ExportSettings).
  function_extra_environment = {
    export_case = {
      MAILROOM_EXPORT_SIGNING_KEY_ARN = aws_kms_key.export_signing.arn
      MAILROOM_EXPORTS_PREFIX         = local.exports_prefix
    }
  }

  mx_record = "10 inbound-smtp.${var.region}.amazonaws.com"

  # Regions where SES receives mail, as documented when this was written; a region missing
  # here only raises a warning (AWS adds receiving regions over time).
  ses_receiving_regions = [
    "us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1",
    "eu-central-1", "eu-west-1", "eu-west-2", "eu-west-3", "eu-north-1", "eu-south-1",
    "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1",
    "ap-southeast-1", "ap-southeast-2", "ap-southeast-3",
  ]
}

check "ses_receives_in_region" {
  assert {
    condition     = contains(local.ses_receiving_regions, var.region)
    error_message = "SES may not receive email in ${var.region}: check the SES email receiving endpoints for your region before publishing the MX record."
  }
}
