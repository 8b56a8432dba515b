# Receipts (issue 21): when receipt_policy is not "off", a function answers outcome events from
# the bus with one receipt per message (functions/mailroom/handlers/send_receipt.py), sent with
# SES SendRawEmail from receipt_from only. SES sends to unverified addresses only with
# production access (docs/DEPLOY.md, "Receipts").

locals {
  receipts_on       = var.receipt_policy != "off"
  receipts_function = "${var.name_prefix}-send-receipt"
}

resource "aws_iam_role" "receipts" {
  count = local.receipts_on ? 1 : 0

  name               = "${local.receipts_function}-${var.region}-role" # IAM names are account-wide
  description        = "Execution role of ${local.receipts_function}"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
}

resource "aws_cloudwatch_log_group" "receipts" {
  count = local.receipts_on ? 1 : 0

  name              = "/aws/lambda/${local.receipts_function}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.this.arn
}

resource "aws_sqs_queue" "receipts_dlq" {
  count = local.receipts_on ? 1 : 0

  name                      = "${local.receipts_function}-dlq"
  message_retention_seconds = 1209600
  kms_master_key_id         = aws_kms_key.this.arn
}

data "aws_iam_policy_document" "receipts" {
  count = local.receipts_on ? 1 : 0

  # The claim (PutItem, DeleteItem on release) and the counters and notes (UpdateItem).
  statement {
    sid       = "ClaimAndCountReceipts"
    actions   = ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]
    resources = [aws_dynamodb_table.documents.arn]
  }

  # Least privilege: the verified domain's identity, and only as receipt_from
  # (https://docs.aws.amazon.com/ses/latest/dg/sending-authorization-policy-examples.html,
  # condition key ses:FromAddress).
  statement {
    sid       = "SendReceiptsFromOneAddress"
    actions   = ["ses:SendRawEmail"]
    resources = ["arn:${local.partition}:ses:${var.region}:${local.account_id}:identity/${var.mail_domain}"]

    condition {
      test     = "StringEquals"
      variable = "ses:FromAddress"
      values   = [coalesce(var.receipt_from, "unset@${var.mail_domain}")]
    }
  }

  statement {
    sid       = "UseStackKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.this.arn]
  }

  statement {
    sid       = "DeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.receipts_dlq[0].arn]
  }

  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.receipts[0].arn}:*"]
  }

  # X-Ray has no resource-level permissions: "*" is the only resource it accepts.
  statement {
    sid       = "Tracing"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "receipts" {
  count = local.receipts_on ? 1 : 0

  name   = "${local.receipts_function}-policy"
  role   = aws_iam_role.receipts[0].id
  policy = data.aws_iam_policy_document.receipts[0].json
}

resource "aws_lambda_function" "receipts" {
  count = local.receipts_on ? 1 : 0
  #checkov:skip=CKV_AWS_117:The function calls only AWS APIs (DynamoDB, SES, SQS, KMS, X-Ray); a VPC would add NAT or endpoints and protect nothing

  function_name = local.receipts_function
  description   = "Outcome events: one receipt per message to its sender (RFC 3834)"
  role          = aws_iam_role.receipts[0].arn

  filename         = local.function_zip
  source_code_hash = filebase64sha256(local.function_zip)
  handler          = "mailroom.handlers.send_receipt.handler"
  runtime          = "python3.12"
  architectures    = ["arm64"]
  layers           = compact([aws_lambda_layer_version.deps.arn, var.powertools_layer_arn])

  memory_size                    = 256
  timeout                        = 30
  reserved_concurrent_executions = 5
  code_signing_config_arn        = var.code_signing_config_arn

  kms_key_arn = aws_kms_key.this.arn
  environment {
    variables = {
      MAILROOM_TABLE                 = aws_dynamodb_table.documents.name
      MAILROOM_RECEIPT_POLICY        = var.receipt_policy
      MAILROOM_RECEIPT_FROM          = var.receipt_from == null ? "" : var.receipt_from
      MAILROOM_RECEIPT_FIRM_NAME     = var.receipt_firm_name
      MAILROOM_RECEIPT_CONTACT       = var.receipt_contact == null ? "" : var.receipt_contact
      MAILROOM_RECEIPT_RATE_PER_HOUR = tostring(var.receipt_rate_per_hour)
      POWERTOOLS_SERVICE_NAME        = "mailroom"
      POWERTOOLS_METRICS_NAMESPACE   = var.metrics_namespace
      POWERTOOLS_LOG_LEVEL           = var.log_level
      LOG_LEVEL                      = var.log_level
    }
  }

  tracing_config {
    mode = "Active"
  }

  dead_letter_config {
    target_arn = aws_sqs_queue.receipts_dlq[0].arn
  }

  lifecycle {
    precondition {
      condition     = var.receipt_from != null && endswith(coalesce(var.receipt_from, "-"), "@${var.mail_domain}")
      error_message = "receipt_policy is on: set receipt_from to an address on mail_domain."
    }
  }

  depends_on = [aws_cloudwatch_log_group.receipts, aws_iam_role_policy.receipts]
}

resource "aws_cloudwatch_event_rule" "receipts" {
  count = local.receipts_on ? 1 : 0

  name           = "${var.name_prefix}-receipts"
  description    = "Recorded, needs-filing and quarantined messages to the receipt function"
  event_bus_name = aws_cloudwatch_event_bus.outcomes.name
  event_pattern = jsonencode({
    source      = [local.event_source]
    detail-type = ["Message Recorded", "Message Needs Filing", "Message Quarantined"]
  })
}

resource "aws_cloudwatch_event_target" "receipts" {
  count = local.receipts_on ? 1 : 0

  rule           = aws_cloudwatch_event_rule.receipts[0].name
  event_bus_name = aws_cloudwatch_event_bus.outcomes.name
  target_id      = "send-receipt"
  arn            = aws_lambda_function.receipts[0].arn
}

resource "aws_lambda_permission" "events_invoke_receipts" {
  count = local.receipts_on ? 1 : 0

  statement_id  = "AllowOutcomeEventsRule"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.receipts[0].function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.receipts[0].arn
}
