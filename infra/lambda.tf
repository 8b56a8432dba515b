# Both functions run the one zip built by `make package`, each with its own handler string,
# role, log group and dead-letter queue. Their runtime dependencies come from the project's own
# layer (also built by `make package`), pinned to the versions the tests ran.

locals {
  # Every function's environment: the contract of functions/mailroom/settings.py
  # (Settings.from_env), plus Powertools. The api function adds its own (api.tf).
  function_environment = {
    MAILROOM_BUCKET                 = aws_s3_bucket.documents.id
    MAILROOM_TABLE                  = aws_dynamodb_table.documents.name
    MAILROOM_RAW_PREFIX             = local.raw_prefix
    MAILROOM_INCOMING_PREFIX        = local.incoming_prefix
    MAILROOM_QUARANTINE_PREFIX      = local.quarantine_prefix
    MAILROOM_ALLOWED_SENDER_DOMAINS = join(",", var.allowed_sender_domains)
    MAILROOM_MAX_DEPTH              = tostring(var.extraction_limits.max_depth)
    MAILROOM_MAX_PARTS              = tostring(var.extraction_limits.max_parts)
    MAILROOM_MAX_TOTAL_BYTES        = tostring(var.extraction_limits.max_total_bytes)
    MAILROOM_VIRUS_POLICY           = var.virus_policy
    MAILROOM_SPAM_POLICY            = var.spam_policy
    MAILROOM_ROUTING_RULES          = jsonencode(var.routing_rules) # issue 21
    MAILROOM_EVENT_BUS              = aws_cloudwatch_event_bus.outcomes.name
    MAILROOM_TRUSTED_FORWARDERS     = join(",", var.trusted_forwarders)
    MAILROOM_EXPAND_ARCHIVES        = tostring(var.expand_archives)
    MAILROOM_KEEP_BODY              = tostring(var.keep_body)
    MAILROOM_MAX_ARCHIVE_MEMBERS    = tostring(var.extraction_limits.max_archive_members)
    MAILROOM_MAX_ARCHIVE_BYTES      = tostring(var.extraction_limits.max_archive_bytes)
    MAILROOM_MAX_ARCHIVE_RATIO      = tostring(var.extraction_limits.max_archive_ratio)
    MAILROOM_MAX_ARCHIVE_DEPTH      = tostring(var.extraction_limits.max_archive_depth)
    MAILROOM_SIGNATURE_REPEATS      = tostring(var.extraction_limits.signature_repeats)
    # Issue 18: probes are recognised from this domain only, and expire after these days.
    MAILROOM_MAIL_DOMAIN       = var.mail_domain
    MAILROOM_PROBE_EXPIRY_DAYS = tostring(var.probe_expiry_days)
    # Issue 22: audit entries expire (DynamoDB TTL, expires_at) after these days.
    MAILROOM_AUDIT_RETENTION_DAYS = tostring(var.audit_retention_days)

    POWERTOOLS_SERVICE_NAME      = "mailroom"
    POWERTOOLS_METRICS_NAMESPACE = var.metrics_namespace
    POWERTOOLS_LOG_LEVEL         = var.log_level
    LOG_LEVEL                    = var.log_level
    # Traces must not carry message content: no handler responses in segment metadata.
    POWERTOOLS_TRACER_CAPTURE_RESPONSE = "false"
  }
}

resource "aws_lambda_layer_version" "deps" {
  layer_name          = "${var.name_prefix}-deps"
  description         = "mailroom runtime dependencies (powertools, boto3, filetype, tnefparse, olefile, dkimpy), as tested"
  filename            = local.layer_zip
  source_code_hash    = filebase64sha256(local.layer_zip)
  compatible_runtimes = ["python3.12"]
  # Pure Python: the layer has no compiled code, so it serves either architecture.
  compatible_architectures = ["arm64", "x86_64"]
}

resource "aws_cloudwatch_log_group" "function" {
  for_each = local.functions

  name              = "/aws/lambda/${each.value.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.this.arn
}

# Failed asynchronous invocations (after the retries) land here with their original event, so an
# operator can inspect and redrive them.
resource "aws_sqs_queue" "dlq" {
  for_each = local.functions

  name                      = "${each.value.name}-dlq"
  message_retention_seconds = 1209600 # 14 days, the SQS maximum
  kms_master_key_id         = aws_kms_key.this.arn
}

# Like the buckets, each queue refuses requests not sent over TLS ("Enforce encryption of data in
# transit", SQS Developer Guide, security best practices). The functions' roles send to them
# (iam.tf) over HTTPS, as every SDK does.
data "aws_iam_policy_document" "dlq" {
  for_each = local.functions

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [aws_sqs_queue.dlq[each.key].arn]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_sqs_queue_policy" "dlq" {
  for_each = local.functions

  queue_url = aws_sqs_queue.dlq[each.key].id
  policy    = data.aws_iam_policy_document.dlq[each.key].json
}

resource "aws_lambda_function" "this" {
  for_each = local.functions
  #checkov:skip=CKV_AWS_117:The functions call only AWS APIs (S3, DynamoDB, SQS, KMS, X-Ray); a VPC would add NAT or endpoints and protect nothing

  function_name = each.value.name
  description   = each.value.description
  role          = aws_iam_role.function[each.key].arn

  filename         = local.function_zip
  source_code_hash = filebase64sha256(local.function_zip)
  handler          = each.value.handler
  runtime          = "python3.12"
  architectures    = ["arm64"]
  layers           = compact([aws_lambda_layer_version.deps.arn, var.powertools_layer_arn])

  memory_size                    = each.value.memory
  timeout                        = each.value.timeout
  reserved_concurrent_executions = coalesce(each.value.concurrency, -1) # -1: no reservation
  code_signing_config_arn        = var.code_signing_config_arn

  kms_key_arn = aws_kms_key.this.arn
  environment {
    # The contract of functions/mailroom/settings.py (Settings.from_env), plus Powertools,
    # plus what one function alone reads (main.tf: function_extra_environment).
    variables = merge(local.function_environment, try(local.function_extra_environment[each.key], {}))
  }

  tracing_config {
    mode = "Active"
  }

  dead_letter_config {
    target_arn = aws_sqs_queue.dlq[each.key].arn
  }

  # Logs go to the group above (with retention and the key), never to one Lambda creates.
  depends_on = [
    aws_cloudwatch_log_group.function,
    aws_iam_role_policy.function,
  ]
}

resource "aws_lambda_function_event_invoke_config" "this" {
  for_each = local.functions

  function_name                = aws_lambda_function.this[each.key].function_name
  maximum_retry_attempts       = var.lambda_max_retry_attempts
  maximum_event_age_in_seconds = 21600
}

# SES invokes extract_attachments, and only for this account's receipt rule.
resource "aws_lambda_permission" "ses_invokes_extract_attachments" {
  statement_id   = "AllowSesReceiptRule"
  action         = "lambda:InvokeFunction"
  function_name  = aws_lambda_function.this["extract_attachments"].function_name
  principal      = "ses.amazonaws.com"
  source_account = local.account_id
  source_arn     = local.rule_arn
}

# S3 invokes record_metadata, and only for the document bucket in this account.
resource "aws_lambda_permission" "s3_invokes_record_metadata" {
  statement_id   = "AllowDocumentBucket"
  action         = "lambda:InvokeFunction"
  function_name  = aws_lambda_function.this["record_metadata"].function_name
  principal      = "s3.amazonaws.com"
  source_account = local.account_id
  source_arn     = aws_s3_bucket.documents.arn
}
