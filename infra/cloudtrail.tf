# Issue 22, optional (cloudtrail_data_events, off by default): CloudTrail S3 data events for
# the document bucket. The audit trail (functions/mailroom/audit.py) proves what the product
# served; a staff member's CLI reads S3 directly, and only CloudTrail records those reads (and
# any other access that goes around the product). Log files go to the stack's log bucket under
# cloudtrail/, encrypted with the stack key, with digest files to prove they were not changed
# (log file validation). They expire with the bucket's other logs (access_log_retention_days).
locals {
  trail_name   = "${var.name_prefix}-data-events"
  trail_prefix = "cloudtrail"
  # Built, not referenced: the bucket and key policies name the trail before it exists.
  trail_arn = "arn:${local.partition}:cloudtrail:${var.region}:${local.account_id}:trail/${local.trail_name}"
}

resource "aws_cloudtrail" "data_events" {
  #checkov:skip=CKV_AWS_252:Nobody is notified per log file: the files are evidence to query when a question comes up, not an alert
  #checkov:skip=CKV2_AWS_10:Data events are kept as evidence in S3 (validated digests); streaming every object read into CloudWatch Logs would double their cost and protect nothing
  count = var.cloudtrail_data_events ? 1 : 0

  name                       = local.trail_name
  s3_bucket_name             = aws_s3_bucket.logs.id
  s3_key_prefix              = local.trail_prefix
  kms_key_id                 = aws_kms_key.this.arn
  enable_log_file_validation = true
  # A multi-Region trail must include global service events: CreateTrail refuses the pair
  # (InvalidParameterCombinationException; "Enabling and disabling global service event
  # logging", https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-create-and-update-a-trail-by-using-the-aws-cli-update-trail.html).
  # The selector below logs data events only, so no management event is recorded either way.
  include_global_service_events = true
  is_multi_region_trail         = true

  # Data events only, for the document bucket's objects: every GetObject, PutObject,
  # DeleteObject (and the rest) by anyone, the product's roles included.
  advanced_event_selector {
    name = "document bucket objects"

    field_selector {
      field  = "eventCategory"
      equals = ["Data"]
    }

    field_selector {
      field  = "resources.type"
      equals = ["AWS::S3::Object"]
    }

    field_selector {
      field       = "resources.ARN"
      starts_with = ["${aws_s3_bucket.documents.arn}/"]
    }
  }

  depends_on = [aws_s3_bucket_policy.logs]
}
