################################################################################
# Document bucket: raw/ (SES), incoming/ (the single intake point), quarantine/
################################################################################

resource "aws_s3_bucket" "documents" {
  #checkov:skip=CKV_AWS_144:Cross-region replication is a per-firm disaster-recovery choice; versioning already covers overwrites and deletes
  bucket        = local.bucket_name
  force_destroy = var.force_destroy
  # Object Lock is not set here: `object_lock_enabled` on this resource forces a new bucket when
  # it changes (ForceNew in the provider), which prevent_destroy refuses. It is enabled on the
  # existing bucket by aws_s3_bucket_object_lock_configuration below (var.object_lock).

  # Without this, `destroy` of a bucket holding documents removes its policy, public access
  # block, encryption, lifecycle and versioning first, and only then stops on BucketNotEmpty.
  # prevent_destroy stops the plan before anything is touched (two-step teardown: DEPLOY.md).
  lifecycle {
    prevent_destroy = true
  }
}

resource "aws_s3_bucket_ownership_controls" "documents" {
  bucket = aws_s3_bucket.documents.id

  rule {
    # ACLs disabled: the bucket policy is the only grant.
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "documents" {
  bucket = aws_s3_bucket.documents.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "documents" {
  bucket = aws_s3_bucket.documents.id

  versioning_configuration {
    status = "Enabled"
  }
}

# Issue 22: S3 Object Lock for legal holds (`mailroom hold`), opt-in and irreversible. No rule:
# no default retention (SES does not write to a bucket whose Object Lock has a default
# retention period: https://docs.aws.amazon.com/ses/latest/dg/receiving-email-action-s3.html),
# so nothing is locked until a hold is placed. PutObjectLockConfiguration enables it on an
# existing, versioned bucket (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock-configure.html).
# Destroying this resource does not (cannot) turn Object Lock off.
resource "aws_s3_bucket_object_lock_configuration" "documents" {
  count = var.object_lock ? 1 : 0

  bucket              = aws_s3_bucket.documents.id
  object_lock_enabled = "Enabled"

  # Object Lock needs versioning on.
  depends_on = [aws_s3_bucket_versioning.documents]
}

resource "aws_s3_bucket_server_side_encryption_configuration" "documents" {
  bucket = aws_s3_bucket.documents.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.this.arn
    }
    # One data key per bucket instead of one KMS call per object.
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "documents" {
  bucket = aws_s3_bucket.documents.id

  # Raw messages are what a failed message is reprocessed from: kept (by default), moved to a
  # cheaper class that is still read without a restore, and expired only if a firm says so.
  rule {
    id     = "raw-messages"
    status = "Enabled"

    filter {
      prefix = local.raw_prefix
    }

    transition {
      days          = var.raw_transition_days
      storage_class = var.raw_transition_storage_class
    }

    dynamic "expiration" {
      for_each = var.raw_retention_days == null ? [] : [var.raw_retention_days]
      content {
        days = expiration.value
      }
    }
  }

  # Issue 22: documents expire after document_retention_days (off by default). Expiry only
  # puts a delete marker over the current version; the version itself goes with the noncurrent
  # rule below, and never while it carries a legal hold: "a locked version of an object cannot
  # be deleted by a lifecycle expiration policy"
  # (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock-managing.html, "Using S3
  # Lifecycle with S3 Object Lock").
  dynamic "rule" {
    for_each = var.document_retention_days == null ? [] : [var.document_retention_days]
    content {
      id     = "expire-documents"
      status = "Enabled"

      filter {
        prefix = local.incoming_prefix
      }

      expiration {
        days = rule.value
      }

      # As the tidy rule below (checkov CKV_AWS_300 reads each rule on its own).
      abort_incomplete_multipart_upload {
        days_after_initiation = 7
      }
    }
  }

  rule {
    id     = "tidy-versions-and-uploads"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_retention_days
    }

    expiration {
      expired_object_delete_marker = true
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  # Issue 22: an export zip is fetched within minutes through a presigned link; a day later
  # it goes (and its noncurrent version the day after), and an upload cut short is aborted.
  rule {
    id     = "expire-exports"
    status = "Enabled"

    filter {
      prefix = local.exports_prefix
    }

    expiration {
      days = 1
    }

    noncurrent_version_expiration {
      noncurrent_days = 1
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  # Issue 18: a probe's objects (the raw message and its files, tagged by extract_attachments
  # only when the message is the stack's own authenticated smoke or canary mail) expire with
  # its records; the noncurrent version that expiry leaves behind goes as many days later.
  rule {
    id     = "expire-probes"
    status = "Enabled"

    filter {
      tag {
        key   = "mailroom-probe"
        value = "true"
      }
    }

    expiration {
      days = var.probe_expiry_days
    }

    noncurrent_version_expiration {
      noncurrent_days = var.probe_expiry_days
    }
  }

  # Lifecycle rules apply to versions, so versioning must exist first.
  depends_on = [aws_s3_bucket_versioning.documents]
}

resource "aws_s3_bucket_logging" "documents" {
  bucket        = aws_s3_bucket.documents.id
  target_bucket = aws_s3_bucket.logs.id
  target_prefix = "s3/${local.bucket_name}/"

  # S3 checks the log bucket's policy when logging is switched on.
  depends_on = [aws_s3_bucket_policy.logs]
}

data "aws_iam_policy_document" "documents" {
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.documents.arn,
      "${aws_s3_bucket.documents.arn}/*",
    ]

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

  # SES stores received mail under raw/ only, and only for this account's receipt rule.
  statement {
    sid       = "SesPutsRawMessages"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.documents.arn}/${local.raw_prefix}*"]

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

  # An upload key is written once (issue 16): a PutObject or CompleteMultipartUpload under
  # incoming/up- must carry If-None-Match, so S3 refuses it when the key exists
  # (https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes-enforce.html;
  # s3:ObjectCreationOperation is false for CreateMultipartUpload and UploadPart, which take no
  # conditional header). The api role is exempt: a browser's presigned POST cannot send the
  # header, and its form is for one new random key for five minutes; record_metadata's
  # conditional write keeps any second version of a key off the record. Last in the document:
  # the emulator reads no statement after one whose principal is "*" and evaluates no condition.
  statement {
    sid       = "DenyUploadOverwrites"
    effect    = "Deny"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.documents.arn}/${local.incoming_prefix}up-*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Null"
      variable = "s3:if-none-match"
      values   = ["true"]
    }

    condition {
      test     = "Bool"
      variable = "s3:ObjectCreationOperation"
      values   = ["true"]
    }

    condition {
      test     = "ArnNotEquals"
      variable = "aws:PrincipalArn"
      values   = [aws_iam_role.api.arn]
    }
  }
}

resource "aws_s3_bucket_policy" "documents" {
  bucket = aws_s3_bucket.documents.id
  policy = data.aws_iam_policy_document.documents.json

  # A policy put before the public access block could be judged public and refused.
  depends_on = [aws_s3_bucket_public_access_block.documents]
}

# record_metadata runs for every object created under incoming/: mail extracted by
# extract_attachments and uploads alike. No function writes under the prefix that triggers it.
resource "aws_s3_bucket_notification" "incoming" {
  bucket = aws_s3_bucket.documents.id

  lambda_function {
    id                  = "incoming-to-record-metadata"
    lambda_function_arn = aws_lambda_function.this["record_metadata"].arn
    events              = ["s3:ObjectCreated:*"]
    filter_prefix       = local.incoming_prefix
  }

  # S3 tests the invoke permission when the notification is put.
  depends_on = [aws_lambda_permission.s3_invokes_record_metadata]
}

################################################################################
# Access-log bucket
################################################################################

resource "aws_s3_bucket" "logs" {
  #checkov:skip=CKV_AWS_144:Cross-region replication of access logs is a per-firm choice
  #checkov:skip=CKV_AWS_145:S3 server access logs can only be delivered to a bucket encrypted with SSE-S3, not SSE-KMS
  #checkov:skip=CKV2_AWS_62:Nothing reacts to access logs, so there is no notification to send
  bucket        = local.log_bucket_name
  force_destroy = var.force_destroy
}

resource "aws_s3_bucket_ownership_controls" "logs" {
  bucket = aws_s3_bucket.logs.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "logs" {
  bucket = aws_s3_bucket.logs.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "logs" {
  bucket = aws_s3_bucket.logs.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id

  rule {
    apply_server_side_encryption_by_default {
      # Server access log delivery supports SSE-S3 only.
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id

  rule {
    id     = "expire-access-logs"
    status = "Enabled"

    filter {}

    expiration {
      days = var.access_log_retention_days
    }

    noncurrent_version_expiration {
      noncurrent_days = 1
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  depends_on = [aws_s3_bucket_versioning.logs]
}

data "aws_iam_policy_document" "logs" {
  # With ACLs disabled, log delivery is granted here, for the document bucket only. (Kept
  # first: the emulator stops reading the policy at a statement whose principal is "*".)
  statement {
    sid       = "S3ServerAccessLogs"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.logs.arn}/s3/${local.bucket_name}/*"]

    principals {
      type        = "Service"
      identifiers = ["logging.s3.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:s3:::${local.bucket_name}"]
    }
  }

  # The same for the dashboard's bucket (dashboard.tf), under its own prefix: one statement
  # per bucket, each naming one prefix, as the emulator reads them.
  statement {
    sid       = "S3ServerAccessLogsDashboard"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.logs.arn}/s3/${local.site_bucket_name}/*"]

    principals {
      type        = "Service"
      identifiers = ["logging.s3.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:s3:::${local.site_bucket_name}"]
    }
  }

  # Issue 22 (cloudtrail.tf, only with cloudtrail_data_events): the trail checks the bucket's
  # ACL and delivers under cloudtrail/, for this trail only
  # (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/create-s3-bucket-policy-for-cloudtrail.html).
  dynamic "statement" {
    for_each = var.cloudtrail_data_events ? ["CloudTrailChecksBucketAcl"] : []
    content {
      sid       = statement.value
      actions   = ["s3:GetBucketAcl"]
      resources = [aws_s3_bucket.logs.arn]

      principals {
        type        = "Service"
        identifiers = ["cloudtrail.amazonaws.com"]
      }

      condition {
        test     = "StringEquals"
        variable = "aws:SourceArn"
        values   = [local.trail_arn]
      }
    }
  }

  dynamic "statement" {
    for_each = var.cloudtrail_data_events ? ["CloudTrailDeliversDataEvents"] : []
    content {
      sid       = statement.value
      actions   = ["s3:PutObject"]
      resources = ["${aws_s3_bucket.logs.arn}/${local.trail_prefix}/AWSLogs/${local.account_id}/*"]

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
        test     = "StringEquals"
        variable = "s3:x-amz-acl"
        values   = ["bucket-owner-full-control"]
      }
    }
  }

  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.logs.arn,
      "${aws_s3_bucket.logs.arn}/*",
    ]

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

resource "aws_s3_bucket_policy" "logs" {
  bucket = aws_s3_bucket.logs.id
  policy = data.aws_iam_policy_document.logs.json

  depends_on = [aws_s3_bucket_public_access_block.logs]
}
