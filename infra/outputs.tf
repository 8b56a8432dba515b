# The CLI reads bucket, table and region from `terraform output -json`, and its operations
# commands the *_function_name, *_dlq_url, receipt_rule_* and alarm_topic_arn outputs; the rest
# is what an operator needs to publish DNS, send a test message and grant staff access.

output "bucket" {
  description = "Name of the document bucket (raw/, incoming/, quarantine/): MAILROOM_BUCKET."
  value       = aws_s3_bucket.documents.id
}

output "table" {
  description = "Name of the DynamoDB table holding message and file records: MAILROOM_TABLE."
  value       = aws_dynamodb_table.documents.name
}

output "region" {
  description = "AWS region of the stack (AWS_REGION for the CLI)."
  value       = var.region
}

output "extract_function" {
  description = "Name of the extract_attachments function (the receipt rule's Lambda action)."
  value       = aws_lambda_function.this["extract_attachments"].function_name
}

output "record_function" {
  description = "Name of the record_metadata function (the bucket notification's target)."
  value       = aws_lambda_function.this["record_metadata"].function_name
}

output "rule_set" {
  description = "Name of the SES receipt rule set."
  value       = aws_ses_receipt_rule_set.this.rule_set_name
}

output "rule" {
  description = "Name of the SES receipt rule (S3 action, then Lambda action)."
  value       = aws_ses_receipt_rule.store_and_extract.name
}

output "activate_rule_set_command" {
  description = "The one-time step that makes this stack's rule set the active one (it replaces whatever set is active: run `mailroom preflight` first, docs/DEPLOY.md)."
  value       = "aws ses set-active-receipt-rule-set --region ${var.region} --rule-set-name ${aws_ses_receipt_rule_set.this.rule_set_name}"
}

output "submission_addresses" {
  description = "Addresses that accept submissions (plus-addressing adds a case tag: submit+case-42@domain)."
  value       = var.submission_addresses
}

output "mx_record" {
  description = "Value of the MX record to publish for mail_domain (created for you when route53_zone_id is set)."
  value       = local.mx_record
}

output "domain_verification_record" {
  description = "TXT record that verifies mail_domain with SES (created for you when route53_zone_id is set)."
  value = {
    name  = "_amazonses.${var.mail_domain}"
    type  = "TXT"
    value = aws_ses_domain_identity.this.verification_token
  }
}

output "dkim_records" {
  description = "CNAME records that enable DKIM for mail_domain (created for you when route53_zone_id is set)."
  value = [
    for token in aws_ses_domain_dkim.this.dkim_tokens : {
      name  = "${token}._domainkey.${var.mail_domain}"
      type  = "CNAME"
      value = "${token}.dkim.amazonses.com"
    }
  ]
}

output "kms_key_arn" {
  description = "ARN of the customer-managed key that encrypts the bucket, table, queues, topic and logs."
  value       = aws_kms_key.this.arn
}

output "export_signing_key_arn" {
  description = "KMS key `mailroom export` signs SHA256SUMS with (ECC_NIST_P256, ECDSA_SHA_256)."
  value       = aws_kms_key.export_signing.arn
}

output "export_function" {
  description = "The function that builds case export jobs (the dashboard's Export case, `mailroom export --with-raw`)."
  value       = aws_lambda_function.this["export_case"].function_name
}

output "export_public_key" {
  description = "Public half of the export signing key (PEM): what `mailroom verify-export --key` pins."
  value       = data.aws_kms_public_key.export_signing.public_key_pem
}

output "dead_letter_queues" {
  description = "URL of each function's dead-letter queue, by function."
  value       = { for k, q in aws_sqs_queue.dlq : k => q.url }
}

output "alarm_topic_arn" {
  description = "ARN of the SNS topic that receives the alarms."
  value       = aws_sns_topic.alarms.arn
}

output "log_groups" {
  description = "Log group of each function, by function."
  value       = { for k, g in aws_cloudwatch_log_group.function : k => g.name }
}

output "log_bucket" {
  description = "Name of the bucket that receives the document bucket's S3 access logs."
  value       = aws_s3_bucket.logs.id
}

# Names the CLI's operations commands read (one plain string each, no maps to index).

output "extract_function_name" {
  description = "Name of the extract_attachments function (the receipt rule's Lambda action)."
  value       = aws_lambda_function.this["extract_attachments"].function_name
}

output "record_function_name" {
  description = "Name of the record_metadata function (the bucket notification's target)."
  value       = aws_lambda_function.this["record_metadata"].function_name
}

output "extract_dlq_url" {
  description = "URL of extract_attachments' dead-letter queue (failed SES events, to redrive)."
  value       = aws_sqs_queue.dlq["extract_attachments"].url
}

output "record_dlq_url" {
  description = "URL of record_metadata's dead-letter queue (failed S3 events, to redrive)."
  value       = aws_sqs_queue.dlq["record_metadata"].url
}

output "receipt_rule_set_name" {
  description = "Name of the SES receipt rule set this stack created."
  value       = aws_ses_receipt_rule_set.this.rule_set_name
}

output "receipt_rule_name" {
  description = "Name of the SES receipt rule (S3 action, then Lambda action)."
  value       = aws_ses_receipt_rule.store_and_extract.name
}

output "reader_policy_arn" {
  description = "ARN of the mailroom-reader managed policy: attach it to staff who query and download (list, show, message, get)."
  value       = aws_iam_policy.staff_reader.arn
}

output "uploader_policy_arn" {
  description = "ARN of the mailroom-uploader managed policy: the reader's permissions plus `mailroom upload`."
  value       = aws_iam_policy.staff_uploader.arn
}

output "admin_policy_arn" {
  description = "ARN of the mailroom-admin managed policy: the uploader's permissions plus `mailroom delete` and invoking the pipeline's functions (reprocess, redrive)."
  value       = aws_iam_policy.staff_admin.arn
}

output "staff_groups" {
  description = "Cognito groups of the staff user pool, one per role (admin-add-user-to-group): readers, uploaders, admins."
  value       = sort([for g in aws_cognito_user_group.staff : g.name])
}

# The staff API and dashboard (api.tf, auth.tf, dashboard.tf).

output "api_url" {
  description = "Base URL of the staff HTTP API, direct (no trailing slash): GET {api_url}/files with a token from the user pool. The dashboard reaches the same routes at {dashboard_url}/api."
  value       = "${aws_apigatewayv2_api.staff.api_endpoint}${local.api_path_prefix}"
}

output "api_function_name" {
  description = "Name of the api function behind the staff HTTP API."
  value       = aws_lambda_function.api.function_name
}

output "dashboard_url" {
  description = "URL of the staff dashboard (the CloudFront distribution); the only origin the API's and the document bucket's CORS allow."
  value       = local.dashboard_url
}

output "dashboard_bucket" {
  description = "Name of the private bucket holding the dashboard's page files and config.json."
  value       = aws_s3_bucket.site.id
}

output "dashboard_distribution_id" {
  description = "Id of the dashboard's CloudFront distribution (for `aws cloudfront create-invalidation`)."
  value       = aws_cloudfront_distribution.dashboard.id
}

output "user_pool_id" {
  description = "Id of the staff user pool: create each staff account in it (docs/DEPLOY.md, Dashboard)."
  value       = aws_cognito_user_pool.staff.id
}

output "user_pool_client_id" {
  description = "Id of the dashboard's app client (public, authorization code with PKCE); the JWT authorizer's audience."
  value       = aws_cognito_user_pool_client.dashboard.id
}

output "cognito_domain" {
  description = "URL of the user pool's hosted sign-in domain."
  value       = local.cognito_domain_url
}

output "mail_domain" {
  description = "The domain that receives the submissions (what `mailroom preflight` checks: SES verification and MX)."
  value       = var.mail_domain
}

# Issue 22: the CloudTrail trail of the document bucket's data events (null unless
# cloudtrail_data_events).
output "cloudtrail_trail_arn" {
  description = "Issue 22: the CloudTrail trail of the document bucket's S3 data events; null unless cloudtrail_data_events."
  value       = one(aws_cloudtrail.data_events[*].arn)
}
