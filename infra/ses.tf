################################################################################
# Domain identity and DKIM
################################################################################

resource "aws_ses_domain_identity" "this" {
  domain = var.mail_domain
}

resource "aws_ses_domain_dkim" "this" {
  domain = aws_ses_domain_identity.this.domain
}

################################################################################
# Receipt rule: store the raw message (1), then extract its attachments (2)
################################################################################

resource "aws_ses_receipt_rule_set" "this" {
  rule_set_name = local.rule_set_name
}

# Activation is not Terraform's. Only one rule set can be active per account and region, and the
# provider's aws_ses_active_receipt_rule_set deletes by calling SetActiveReceiptRuleSet with no
# name, which deactivates whatever set is active then, another team's included; its read also
# fails in an account where no set is active. So apply and destroy never touch activation: it
# is a one-time step after the first apply (docs/DEPLOY.md, "Activate the rule set"), and
# `mailroom preflight` says which set is active and the exact command.
#
# A stack applied before this change has the activation in its state: forget it, never
# destroy it (destroying it would deactivate receiving in the region).
removed {
  from = aws_ses_active_receipt_rule_set.this

  lifecycle {
    destroy = false
  }
}

resource "aws_ses_receipt_rule" "store_and_extract" {
  name          = local.rule_name
  rule_set_name = aws_ses_receipt_rule_set.this.rule_set_name
  recipients    = var.submission_addresses
  enabled       = true
  # Mail arriving over plain SMTP is refused; every message gets spam and virus verdicts.
  tls_policy   = "Require"
  scan_enabled = true

  # The raw message first: extraction reads it from raw/<ses-message-id>.
  s3_action {
    position          = 1
    bucket_name       = aws_s3_bucket.documents.id
    object_key_prefix = local.raw_prefix
  }

  # Asynchronous, so a slow extraction never holds up SES; failures retry, then go to the DLQ.
  lambda_action {
    position        = 2
    function_arn    = aws_lambda_function.this["extract_attachments"].arn
    invocation_type = "Event"
  }

  # SES tests its access to the bucket, the key and the function when the rule is created.
  depends_on = [
    aws_s3_bucket_policy.documents,
    aws_s3_bucket_server_side_encryption_configuration.documents,
    aws_kms_key.this,
    aws_lambda_permission.ses_invokes_extract_attachments,
  ]

  lifecycle {
    precondition {
      condition     = alltrue([for a in var.submission_addresses : endswith(a, "@${var.mail_domain}")])
      error_message = "Every submission address must be in mail_domain (${var.mail_domain})."
    }
  }
}

################################################################################
# DNS (optional): MX, verification and DKIM records in the firm's Route 53 zone
################################################################################

resource "aws_route53_record" "mx" {
  count = var.route53_zone_id == null ? 0 : 1

  zone_id = var.route53_zone_id
  name    = var.mail_domain
  type    = "MX"
  ttl     = 600
  records = [local.mx_record]
}

resource "aws_route53_record" "verification" {
  count = var.route53_zone_id == null ? 0 : 1

  zone_id = var.route53_zone_id
  name    = "_amazonses.${var.mail_domain}"
  type    = "TXT"
  ttl     = 600
  records = [aws_ses_domain_identity.this.verification_token]
}

resource "aws_route53_record" "dkim" {
  count = var.route53_zone_id == null ? 0 : 3

  zone_id = var.route53_zone_id
  name    = "${aws_ses_domain_dkim.this.dkim_tokens[count.index]}._domainkey.${var.mail_domain}"
  type    = "CNAME"
  ttl     = 600
  records = ["${aws_ses_domain_dkim.this.dkim_tokens[count.index]}.dkim.amazonses.com"]
}
