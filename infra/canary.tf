# The mail-flow canary (opt-in: canary_enabled). A scheduled function (handlers/canary.py)
# checks that the previous canary became a file record within canary_bound_minutes, publishes
# CanaryDelivered and CanaryLatency (embedded metric format, in metrics_namespace), and sends
# the next one from canary@mail_domain through SES (SESv2 SendEmail). The alarm fires on a
# missing canary, and on no data at all (the canary itself stopped): treat_missing_data is
# "breaching" here, unlike the per-failure alarms (docs/DEPLOY.md, "What silence means").

locals {
  canary_count         = var.canary_enabled ? 1 : 0
  canary_function_name = "${var.name_prefix}-canary"
  canary_sender        = "canary@${var.mail_domain}"
}

resource "aws_cloudwatch_log_group" "canary" {
  count = local.canary_count

  name              = "/aws/lambda/${local.canary_function_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.this.arn
}

resource "aws_iam_role" "canary" {
  count = local.canary_count

  name               = "${local.canary_function_name}-${var.region}-role" # IAM names are account-wide
  description        = "Execution role of ${local.canary_function_name}"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
}

data "aws_iam_policy_document" "canary" {
  count = local.canary_count

  # Catalog.files_from (Query on by_sender) finds the previous canary's record; the canary's
  # own item (MAILROOM#CANARY) holds the last tag and send time.
  statement {
    sid       = "FindCanaryRecords"
    actions   = ["dynamodb:Query"]
    resources = ["${aws_dynamodb_table.documents.arn}/index/by_sender"]
  }

  statement {
    sid       = "CanaryState"
    actions   = ["dynamodb:GetItem", "dynamodb:PutItem"]
    resources = [aws_dynamodb_table.documents.arn]

    condition {
      test     = "ForAllValues:StringEquals"
      variable = "dynamodb:LeadingKeys"
      values   = ["MAILROOM#CANARY"]
    }
  }

  statement {
    sid       = "DecryptThroughDynamoDbAndLambda"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.this.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["dynamodb.${var.region}.amazonaws.com", "lambda.${var.region}.amazonaws.com"]
    }
  }

  # Only from the canary address, and only to the submission address.
  statement {
    sid       = "SendCanary"
    actions   = ["ses:SendEmail", "ses:SendRawEmail"]
    resources = [aws_ses_domain_identity.this.arn]

    condition {
      test     = "StringEquals"
      variable = "ses:FromAddress"
      values   = [local.canary_sender]
    }
  }

  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.canary[0].arn}:*"]
  }

  # X-Ray has no resource-level permissions: "*" is the only resource it accepts.
  statement {
    sid       = "Tracing"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "canary" {
  count = local.canary_count

  name   = "${local.canary_function_name}-policy"
  role   = aws_iam_role.canary[0].id
  policy = data.aws_iam_policy_document.canary[0].json
}

resource "aws_lambda_function" "canary" {
  count = local.canary_count
  #checkov:skip=CKV_AWS_117:The function calls only AWS APIs (SES, DynamoDB, X-Ray); a VPC would add NAT or endpoints and protect nothing
  #checkov:skip=CKV_AWS_116:A scheduled probe: a failed run is itself the signal (the alarm treats a missing CanaryDelivered as breaching), there is nothing to redrive

  function_name = local.canary_function_name
  description   = "Mail-flow canary: check the previous canary was recorded, send the next"
  role          = aws_iam_role.canary[0].arn

  filename         = local.function_zip
  source_code_hash = filebase64sha256(local.function_zip)
  handler          = "mailroom.handlers.canary.handler"
  runtime          = "python3.12"
  architectures    = ["arm64"]
  layers           = compact([aws_lambda_layer_version.deps.arn, var.powertools_layer_arn])

  memory_size                    = 256
  timeout                        = 60
  reserved_concurrent_executions = coalesce(var.lambda_reserved_concurrency.canary, -1) # -1: no reservation
  code_signing_config_arn        = var.code_signing_config_arn

  kms_key_arn = aws_kms_key.this.arn
  environment {
    variables = merge(local.function_environment, {
      MAILROOM_CANARY_SENDER        = local.canary_sender
      MAILROOM_CANARY_RECIPIENT     = var.submission_addresses[0]
      MAILROOM_CANARY_BOUND_SECONDS = tostring(var.canary_bound_minutes * 60)
    })
  }

  tracing_config {
    mode = "Active"
  }

  depends_on = [
    aws_cloudwatch_log_group.canary,
    aws_iam_role_policy.canary,
  ]
}

resource "aws_cloudwatch_event_rule" "canary" {
  count = local.canary_count

  name                = local.canary_function_name
  description         = "Send a mailroom canary every ${var.canary_interval_minutes} minutes"
  schedule_expression = "rate(${var.canary_interval_minutes} minutes)"
}

resource "aws_cloudwatch_event_target" "canary" {
  count = local.canary_count

  rule = aws_cloudwatch_event_rule.canary[0].name
  arn  = aws_lambda_function.canary[0].arn
}

resource "aws_lambda_permission" "events_invoke_canary" {
  count = local.canary_count

  statement_id   = "AllowCanarySchedule"
  action         = "lambda:InvokeFunction"
  function_name  = aws_lambda_function.canary[0].function_name
  principal      = "events.amazonaws.com"
  source_account = local.account_id
  source_arn     = aws_cloudwatch_event_rule.canary[0].arn
}

# A canary not delivered within the bound, or no canary result at all, in one interval.
resource "aws_cloudwatch_metric_alarm" "canary" {
  count = local.canary_count

  alarm_name          = "${var.name_prefix}-canary-missing"
  alarm_description   = "A mail-flow canary to ${var.submission_addresses[0]} was not recorded within ${var.canary_bound_minutes} min, or no canary ran (runbook: docs/DEPLOY.md, Alarms)"
  namespace           = var.metrics_namespace
  metric_name         = "CanaryDelivered"
  dimensions          = { service = "mailroom" }
  statistic           = "Minimum"
  period              = var.canary_interval_minutes * 60
  evaluation_periods  = 2
  datapoints_to_alarm = 1
  threshold           = 1
  comparison_operator = "LessThanThreshold"
  treat_missing_data  = "breaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = local.alarm_ok_actions
}

output "canary_function_name" {
  description = "Name of the canary function (null when canary_enabled is false)."
  value       = var.canary_enabled ? aws_lambda_function.canary[0].function_name : null
}
