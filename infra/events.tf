# Outcome events (issue 21): extract_attachments publishes one event per final outcome on this
# stack's own bus (functions/mailroom/usecases/outcomes.py; schema in docs/ARCHITECTURE.md,
# "Outcome events"). Optional subscribers: notify_email (SNS) for what needs a person, and
# webhook_url (an API destination) for every outcome.

locals {
  event_bus_name = "${var.name_prefix}-events"
  event_source   = "mailroom"
  # What a person should look at: held back, failed, or waiting to be filed.
  notify_detail_types = ["Message Quarantined", "Message Failed", "Message Needs Filing"]
  all_detail_types    = ["Message Recorded", "Message Needs Filing", "Message Quarantined", "Message Rejected", "Message Failed"]
}

resource "aws_cloudwatch_event_bus" "outcomes" {
  name = local.event_bus_name
}

# Joined to extract_attachments' one policy document (iam.tf): PutEvents on this bus only.
data "aws_iam_policy_document" "publish_outcomes" {
  statement {
    sid       = "PublishOutcomeEvents"
    actions   = ["events:PutEvents"]
    resources = [aws_cloudwatch_event_bus.outcomes.arn]
  }
}

# -- notify_email: SNS for quarantined, failed and needs-filing --------------------------------

resource "aws_sns_topic" "notify" {
  count = var.notify_email == null ? 0 : 1

  name              = "${var.name_prefix}-notify"
  kms_master_key_id = aws_kms_key.this.arn # kms.tf lets EventBridge use the key for this topic
}

resource "aws_sns_topic_subscription" "notify_email" {
  count = var.notify_email == null ? 0 : 1

  topic_arn = aws_sns_topic.notify[0].arn
  protocol  = "email"
  endpoint  = var.notify_email
}

resource "aws_cloudwatch_event_rule" "notify" {
  count = var.notify_email == null ? 0 : 1

  name           = "${var.name_prefix}-notify"
  description    = "Quarantined, failed and needs-filing messages to the notify topic"
  event_bus_name = aws_cloudwatch_event_bus.outcomes.name
  event_pattern = jsonencode({
    source      = [local.event_source]
    detail-type = local.notify_detail_types
  })
}

resource "aws_cloudwatch_event_target" "notify" {
  count = var.notify_email == null ? 0 : 1

  rule           = aws_cloudwatch_event_rule.notify[0].name
  event_bus_name = aws_cloudwatch_event_bus.outcomes.name
  target_id      = "notify-email"
  arn            = aws_sns_topic.notify[0].arn
}

data "aws_iam_policy_document" "notify_topic" {
  count = var.notify_email == null ? 0 : 1

  statement {
    sid       = "EventBridgePublishesOurRuleOnly"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.notify[0].arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_cloudwatch_event_rule.notify[0].arn]
    }
  }
}

resource "aws_sns_topic_policy" "notify" {
  count = var.notify_email == null ? 0 : 1

  arn    = aws_sns_topic.notify[0].arn
  policy = data.aws_iam_policy_document.notify_topic[0].json
}

# -- webhook_url: an API destination; its secret is set outside Terraform ----------------------
#
# The connection is created with a placeholder API key and Terraform ignores later changes to
# it: set the real key with `aws events update-connection --name <name>-webhook
# --authorization-type API_KEY --auth-parameters "ApiKeyAuthParameters={ApiKeyName=...,
# ApiKeyValue=...}"` (docs/DEPLOY.md). EventBridge keeps it in Secrets Manager; the state only
# ever holds the placeholder.

resource "aws_cloudwatch_event_connection" "webhook" {
  count = var.webhook_url == null ? 0 : 1

  name               = "${var.name_prefix}-webhook"
  description        = "Outcome events to the firm's webhook (set the key outside Terraform)"
  authorization_type = "API_KEY"

  auth_parameters {
    api_key {
      key   = "Authorization"
      value = "placeholder-set-outside-terraform"
    }
  }

  lifecycle {
    ignore_changes = [auth_parameters]
  }
}

resource "aws_cloudwatch_event_api_destination" "webhook" {
  count = var.webhook_url == null ? 0 : 1

  name                             = "${var.name_prefix}-webhook"
  description                      = "The firm's webhook for outcome events"
  invocation_endpoint              = var.webhook_url
  http_method                      = "POST"
  invocation_rate_limit_per_second = 10
  connection_arn                   = aws_cloudwatch_event_connection.webhook[0].arn
}

resource "aws_cloudwatch_event_rule" "webhook" {
  count = var.webhook_url == null ? 0 : 1

  name           = "${var.name_prefix}-webhook"
  description    = "Every outcome event to the webhook"
  event_bus_name = aws_cloudwatch_event_bus.outcomes.name
  event_pattern = jsonencode({
    source      = [local.event_source]
    detail-type = local.all_detail_types
  })
}

data "aws_iam_policy_document" "events_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "webhook" {
  count = var.webhook_url == null ? 0 : 1

  name               = "${var.name_prefix}-${var.region}-webhook-role" # IAM names are account-wide
  description        = "EventBridge invokes the webhook API destination"
  assume_role_policy = data.aws_iam_policy_document.events_assume.json
}

data "aws_iam_policy_document" "webhook" {
  count = var.webhook_url == null ? 0 : 1

  statement {
    sid       = "InvokeTheWebhook"
    actions   = ["events:InvokeApiDestination"]
    resources = [aws_cloudwatch_event_api_destination.webhook[0].arn]
  }
}

resource "aws_iam_role_policy" "webhook" {
  count = var.webhook_url == null ? 0 : 1

  name   = "${var.name_prefix}-webhook-policy"
  role   = aws_iam_role.webhook[0].id
  policy = data.aws_iam_policy_document.webhook[0].json
}

resource "aws_cloudwatch_event_target" "webhook" {
  count = var.webhook_url == null ? 0 : 1

  rule           = aws_cloudwatch_event_rule.webhook[0].name
  event_bus_name = aws_cloudwatch_event_bus.outcomes.name
  target_id      = "webhook"
  arn            = aws_cloudwatch_event_api_destination.webhook[0].arn
  role_arn       = aws_iam_role.webhook[0].arn

  retry_policy {
    maximum_event_age_in_seconds = 86400
    maximum_retry_attempts       = 185
  }
}
