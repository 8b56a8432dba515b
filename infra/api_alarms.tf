# Alarms on the staff API, to the same topic as the others (monitoring.tf); each has a runbook
# line in docs/DEPLOY.md ("Alarms"). A failure here is a person's failed click, not a lost
# message: nothing is retried or dead-lettered, so errors and throttles are what there is.

locals {
  # HTTP API metrics (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-metrics.html):
  # namespace AWS/ApiGateway, `5xx` (server-side errors) and `Latency` (from request received to
  # response returned, in ms), by the dimensions ApiId and Stage. (REST APIs name theirs
  # 5XXError and ApiName: those would never report here.)
  api_stage_dimensions = {
    ApiId = aws_apigatewayv2_api.staff.id
    Stage = aws_apigatewayv2_stage.default.name
  }

  api_function_alarms = {
    errors    = { metric = "Errors", what = "requests failed in the function (the caller got a 5xx)" }
    throttles = { metric = "Throttles", what = "requests were throttled at the function's reserved concurrency" }
  }
}

resource "aws_cloudwatch_metric_alarm" "api_function" {
  for_each = local.api_function_alarms

  alarm_name          = "${local.api_function_name}-${each.key}"
  alarm_description   = "${aws_lambda_function.api.function_name}: ${each.value.what} (runbook: docs/DEPLOY.md, Alarms)"
  namespace           = "AWS/Lambda"
  metric_name         = each.value.metric
  dimensions          = { FunctionName = aws_lambda_function.api.function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = local.alarm_ok_actions
}

resource "aws_cloudwatch_metric_alarm" "api_5xx" {
  alarm_name          = "${var.name_prefix}-api-5xx"
  alarm_description   = "Staff API ${aws_apigatewayv2_api.staff.name}: server-side errors answered (runbook: docs/DEPLOY.md, Alarms)"
  namespace           = "AWS/ApiGateway"
  metric_name         = "5xx"
  dimensions          = local.api_stage_dimensions
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = local.alarm_ok_actions
}

resource "aws_cloudwatch_metric_alarm" "api_latency" {
  alarm_name          = "${var.name_prefix}-api-latency-p99"
  alarm_description   = "Staff API ${aws_apigatewayv2_api.staff.name}: p99 latency over ${var.api_latency_alarm_ms} ms (runbook: docs/DEPLOY.md, Alarms)"
  namespace           = "AWS/ApiGateway"
  metric_name         = "Latency"
  dimensions          = local.api_stage_dimensions
  extended_statistic  = "p99"
  period              = 300
  evaluation_periods  = 3
  datapoints_to_alarm = 2
  threshold           = var.api_latency_alarm_ms
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = local.alarm_ok_actions
}

# Issue 22: an audit entry the api could not write (the call was served; the trail misses it).
# handlers/api.count_audit_failure publishes it (embedded metric format, metrics_namespace,
# dimensions service and function); the log line "audit entry not written" says which.
resource "aws_cloudwatch_metric_alarm" "audit_write_failures" {
  alarm_name          = "${local.api_function_name}-audit-write-failures"
  alarm_description   = "${aws_lambda_function.api.function_name}: audit entries were not written (runbook: docs/DEPLOY.md, Alarms)"
  namespace           = var.metrics_namespace
  metric_name         = "AuditWriteFailures"
  dimensions          = { service = "mailroom", function = "api" }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = local.alarm_ok_actions
}
