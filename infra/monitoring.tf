# Alarms on everything that means a message or file was not processed, or soon will not be.
# Each alarm has a runbook line in docs/DEPLOY.md ("Alarms"); tests/infra/test_stack.py checks
# that the list there and the alarms here are the same. The topic must reach a person: the
# alarm_email variable is required unless alarms_without_subscriber = true.

resource "aws_sns_topic" "alarms" {
  name              = "${var.name_prefix}-alarms"
  kms_master_key_id = aws_kms_key.this.arn
}

# Like the buckets, the topic refuses requests not sent over TLS ("Enforce encryption of data in
# transit", SNS Developer Guide, security best practices); CloudWatch alarms of this stack may
# publish, and the account administers it through IAM as with SNS's default policy.
data "aws_iam_policy_document" "alarm_topic" {
  statement {
    sid       = "AccountAdministersTopicThroughIam"
    actions   = ["SNS:GetTopicAttributes", "SNS:SetTopicAttributes", "SNS:Subscribe", "SNS:ListSubscriptionsByTopic", "SNS:Publish"]
    resources = [aws_sns_topic.alarms.arn]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid       = "CloudWatchAlarmsPublish"
    actions   = ["SNS:Publish"]
    resources = [aws_sns_topic.alarms.arn]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["SNS:Publish", "SNS:Subscribe"]
    resources = [aws_sns_topic.alarms.arn]

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

resource "aws_sns_topic_policy" "alarms" {
  arn    = aws_sns_topic.alarms.arn
  policy = data.aws_iam_policy_document.alarm_topic.json
}

resource "aws_sns_topic_subscription" "alarm_email" {
  count = var.alarm_email == null ? 0 : 1

  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

locals {
  # OK notifications only when asked for (alarm_ok_notifications).
  alarm_ok_actions = var.alarm_ok_notifications ? [aws_sns_topic.alarms.arn] : []

  # Lambda metrics (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html):
  # Errors and Throttles count invocations; DeadLetterErrors counts events that could not be
  # written to the DLQ (lost unless seen here); AsyncEventsDropped counts async events dropped
  # without running (e.g. past their maximum age); AsyncEventAge is how long an event waited
  # in Lambda's internal queue, in milliseconds.
  function_metrics = {
    errors = { metric = "Errors", statistic = "Sum", threshold = 0, what = "invocations failed" }
    throttles = {
      metric = "Throttles", statistic = "Sum", threshold = 0, what = "invocations were throttled"
    }
    dead-letter-errors = {
      metric = "DeadLetterErrors", statistic = "Sum", threshold = 0,
      what   = "failed events could not be written to the dead-letter queue and are lost"
    }
    async-events-dropped = {
      metric = "AsyncEventsDropped", statistic = "Sum", threshold = 0,
      what   = "asynchronous events were dropped without running"
    }
    async-event-age = {
      metric    = "AsyncEventAge", statistic = "Maximum",
      threshold = var.async_event_age_alarm_seconds * 1000,
      what      = "asynchronous events waited over ${var.async_event_age_alarm_seconds} s"
    }
  }

  function_alarms = merge([
    for key, fn in local.functions : {
      for suffix, m in local.function_metrics : "${key}-${suffix}" => merge(m, {
        function = key
        name     = "${fn.name}-${suffix}"
      })
    }
  ]...)

  # SES receipt-rule metrics (https://docs.aws.amazon.com/ses/latest/dg/receiving-email-metrics.html):
  # PublishFailure when an action (here the S3 write or the Lambda invoke) failed and will be
  # retried; PublishExpired when SES gave up after retrying for four hours: that mail is lost.
  ses_alarms = {
    publish-failure = { metric = "PublishFailure", what = "an action of the receipt rule failed; SES retries" }
    publish-expired = { metric = "PublishExpired", what = "SES gave up on a message after four hours of retries" }
  }
}

resource "aws_cloudwatch_metric_alarm" "function" {
  for_each = local.function_alarms

  alarm_name          = each.value.name
  alarm_description   = "${aws_lambda_function.this[each.value.function].function_name}: ${each.value.what} (runbook: docs/DEPLOY.md, Alarms)"
  namespace           = "AWS/Lambda"
  metric_name         = each.value.metric
  dimensions          = { FunctionName = aws_lambda_function.this[each.value.function].function_name }
  statistic           = each.value.statistic
  period              = 300
  evaluation_periods  = 1
  threshold           = each.value.threshold
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = local.alarm_ok_actions
}

resource "aws_cloudwatch_metric_alarm" "ses" {
  for_each = local.ses_alarms

  alarm_name          = "${var.name_prefix}-ses-${each.key}"
  alarm_description   = "Receipt rule ${local.rule_name}: ${each.value.what} (runbook: docs/DEPLOY.md, Alarms)"
  namespace           = "AWS/SES"
  metric_name         = each.value.metric
  dimensions          = { RuleName = local.rule_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = local.alarm_ok_actions
}

# Anything in a dead-letter queue is a message or file that was not processed.
resource "aws_cloudwatch_metric_alarm" "dlq" {
  for_each = local.functions

  alarm_name          = "${each.value.name}-dlq-not-empty"
  alarm_description   = "Failed events wait in ${aws_sqs_queue.dlq[each.key].name}: inspect and redrive them (runbook: docs/DEPLOY.md, Alarms)"
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.dlq[each.key].name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = local.alarm_ok_actions
}

# ...and one left there for long will expire with the queue's 14-day retention.
resource "aws_cloudwatch_metric_alarm" "dlq_age" {
  for_each = local.functions

  alarm_name          = "${each.value.name}-dlq-oldest-age"
  alarm_description   = "The oldest event in ${aws_sqs_queue.dlq[each.key].name} is over ${var.dlq_age_alarm_hours} h old; the queue drops events after 14 days (runbook: docs/DEPLOY.md, Alarms)"
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateAgeOfOldestMessage"
  dimensions          = { QueueName = aws_sqs_queue.dlq[each.key].name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = var.dlq_age_alarm_hours * 3600
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = local.alarm_ok_actions
}

# Outcome events that could not be published after the publisher's retries (EventPublishFailures,
# embedded metric format from the extract function): the messages keep their records, but the
# notification, webhook and receipt for them never went out.
resource "aws_cloudwatch_metric_alarm" "event_publish_failures" {
  alarm_name          = "${var.name_prefix}-event-publish-failures"
  alarm_description   = "Outcome events to ${aws_cloudwatch_event_bus.outcomes.name} could not be published: notifications, webhooks and receipts for those messages were not sent (runbook: docs/DEPLOY.md, Alarms)"
  namespace           = var.metrics_namespace
  metric_name         = "EventPublishFailures"
  dimensions          = { service = "mailroom" }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = local.alarm_ok_actions
}
