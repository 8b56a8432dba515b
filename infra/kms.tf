# One customer-managed key encrypts everything the stack stores: objects, table, queues, topic,
# logs and the functions' environment. The key policy lets the account's IAM policies grant
# use of it (the functions' roles do, per action) and lets the services that encrypt on the
# stack's behalf use it, each only for this stack's resources.
resource "aws_kms_key" "this" {
  description             = "mailroom ${var.name_prefix}: documents, records, queues, logs"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_deletion_window_days
  policy                  = data.aws_iam_policy_document.kms.json

  # Every stored document and record is encrypted under this key: deleting it loses them all.
  # docs/DEPLOY.md ("Tear down") lifts this with an override file, deliberately.
  lifecycle {
    prevent_destroy = true
  }
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name_prefix}"
  target_key_id = aws_kms_key.this.key_id
}

# In a key policy, Resource "*" means this key and nothing else.
data "aws_iam_policy_document" "kms" {
  #checkov:skip=CKV_AWS_109:A key policy's "*" resource is the key itself; the account-root statement is AWS's default and keeps the key manageable
  #checkov:skip=CKV_AWS_111:A key policy's "*" resource is the key itself; write access is to this key only
  #checkov:skip=CKV_AWS_356:A key policy's "*" resource is the key itself
  statement {
    sid       = "AccountAdministersKeyThroughIam"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid       = "LogsEncryptThisStacksLogGroups"
    actions   = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["logs.${var.region}.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values = [
        "arn:${local.partition}:logs:${var.region}:${local.account_id}:log-group:/aws/lambda/${var.name_prefix}-*",
        # The staff API's access logs (api.tf).
        "arn:${local.partition}:logs:${var.region}:${local.account_id}:log-group:/aws/apigateway/${var.name_prefix}-api",
      ]
    }
  }

  # SES writes raw/ objects into a bucket whose default encryption is this key. Per the SES
  # developer guide (https://docs.aws.amazon.com/ses/latest/dg/receiving-email-permissions.html,
  # and receiving-email-action-s3.html: "if your bucket is encrypted with a customer managed
  # key ... kms:Decrypt and kms:GenerateDataKey"), storing into such a bucket needs both: a
  # multipart upload (messages over 16 MB) decrypts the data key for every part. Without
  # Decrypt, large mail is retried for hours and then dropped (PublishExpired). The emulator
  # checks no key policy: tests/infra/test_stack.py reads this statement from the plan.
  statement {
    sid       = "SesEncryptsReceivedMail"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["ses.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = [local.rule_arn]
    }
  }

  # EventBridge publishes outcome events to the encrypted notify topic (events.tf, issue 21).
  statement {
    sid       = "EventBridgePublishesNotifications"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }

  # Issue 22 (cloudtrail.tf, only with cloudtrail_data_events): the trail encrypts its log
  # files with this key, for this trail only
  # (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/create-kms-key-policy-for-cloudtrail.html).
  dynamic "statement" {
    for_each = var.cloudtrail_data_events ? ["CloudTrailEncryptsItsLogs"] : []
    content {
      sid       = statement.value
      actions   = ["kms:GenerateDataKey*"]
      resources = ["*"]

      principals {
        type        = "Service"
        identifiers = ["cloudtrail.amazonaws.com"]
      }

      condition {
        test     = "StringEquals"
        variable = "aws:SourceArn"
        values   = [local.trail_arn]
      }

      condition {
        test     = "StringLike"
        variable = "kms:EncryptionContext:aws:cloudtrail:arn"
        values   = ["arn:${local.partition}:cloudtrail:*:${local.account_id}:trail/*"]
      }
    }
  }

  # CloudWatch alarms publish to the encrypted alarm topic.
  statement {
    sid       = "CloudWatchPublishesAlarms"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"]

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
}

# Issue 22: `mailroom export` signs each export's SHA256SUMS with this asymmetric key (KMS Sign,
# ECDSA_SHA_256), and puts the public half in the export; a recipient pins it from the
# `export_public_key` output (or `mailroom config`) and checks offline. Only the key's private
# half stays in KMS. Destroying it does not unmake past exports (their public key verifies
# them), so it carries no prevent_destroy.
resource "aws_kms_key" "export_signing" {
  #checkov:skip=CKV_AWS_7:Automatic rotation is not supported for asymmetric KMS keys (https://docs.aws.amazon.com/kms/latest/developerguide/rotate-keys.html); rotate by creating a new key and publishing its public key
  description              = "mailroom ${var.name_prefix}: signs case exports (SHA256SUMS)"
  customer_master_key_spec = "ECC_NIST_P256"
  key_usage                = "SIGN_VERIFY"
  deletion_window_in_days  = var.kms_deletion_window_days
  policy                   = data.aws_iam_policy_document.export_signing.json
}

resource "aws_kms_alias" "export_signing" {
  name          = "alias/${var.name_prefix}-export-signing"
  target_key_id = aws_kms_key.export_signing.key_id
}

# The account's IAM policies grant its use (staff.tf: kms:Sign and kms:GetPublicKey to readers).
data "aws_iam_policy_document" "export_signing" {
  #checkov:skip=CKV_AWS_109:A key policy's "*" resource is the key itself; the account-root statement is AWS's default and keeps the key manageable
  #checkov:skip=CKV_AWS_111:A key policy's "*" resource is the key itself
  #checkov:skip=CKV_AWS_356:A key policy's "*" resource is the key itself
  statement {
    sid       = "AccountAdministersKeyThroughIam"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }
}

data "aws_kms_public_key" "export_signing" {
  key_id = aws_kms_key.export_signing.arn
}
