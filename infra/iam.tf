# One role and one policy document per function, each listing exactly what its handler calls.
# No "*" action anywhere, and no "*" resource on S3, DynamoDB, SQS or KMS actions
# (tests/infra/test_iam.py reads every policy document from the state and checks this).

data "aws_iam_policy_document" "lambda_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "function" {
  for_each = local.functions

  name               = "${each.value.name}-${var.region}-role" # IAM names are account-wide
  description        = "Execution role of ${each.value.name}"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
}

locals {
  log_group_arns = { for k, g in aws_cloudwatch_log_group.function : k => g.arn }
}

# What both functions need, each for its own queue and log group.
data "aws_iam_policy_document" "function_common" {
  for_each = local.functions

  # S3 answers 403, not 404, for a missing key unless the caller may list the bucket: a new key
  # (extract) or an object deleted since its event (record) must read as missing, not denied.
  statement {
    sid       = "TellMissingFromDenied"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.documents.arn]
  }

  # extract_attachments puts message records; record_metadata puts a new file record and
  # updates one it records again (Catalog.put_file: an UpdateItem keeps what staff set).
  # (export_case writes only its own items: see its document.)
  dynamic "statement" {
    for_each = length(local.record_write_actions[each.key]) > 0 ? [1] : []
    content {
      sid       = "WriteRecords"
      actions   = local.record_write_actions[each.key]
      resources = [aws_dynamodb_table.documents.arn]
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
    resources = [aws_sqs_queue.dlq[each.key].arn]
  }

  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${local.log_group_arns[each.key]}:*"]
  }

  # X-Ray has no resource-level permissions: "*" is the only resource it accepts.
  statement {
    sid       = "Tracing"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }
}

# extract_attachments: reads raw/, writes incoming/ and quarantine/, puts message records.
data "aws_iam_policy_document" "extract_attachments" {
  source_policy_documents = [
    data.aws_iam_policy_document.function_common["extract_attachments"].json,
    data.aws_iam_policy_document.publish_outcomes.json, # events.tf (issue 21)
  ]

  statement {
    sid       = "ReadRawMessages"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.documents.arn}/${local.raw_prefix}*"]
  }

  # HeadObject before each write: a redelivered event finds the same bytes and skips the
  # rewrite (no new version, no second ObjectCreated).
  statement {
    sid     = "CheckWrittenAttachments"
    actions = ["s3:GetObject"]
    resources = [
      "${aws_s3_bucket.documents.arn}/${local.incoming_prefix}*",
      "${aws_s3_bucket.documents.arn}/${local.quarantine_prefix}*",
    ]
  }

  # Large attachments are uploaded in parts; an upload that fails is aborted, not left behind.
  statement {
    sid     = "WriteAttachments"
    actions = ["s3:PutObject", "s3:AbortMultipartUpload"]
    resources = [
      "${aws_s3_bucket.documents.arn}/${local.incoming_prefix}*",
      "${aws_s3_bucket.documents.arn}/${local.quarantine_prefix}*",
    ]
  }

  # Issue 18: a probe's files are written with the tag mailroom-probe=true (a PutObject or
  # CreateMultipartUpload with x-amz-tagging needs s3:PutObjectTagging as well), and its raw
  # message is tagged after the fact (PutObjectTagging); the lifecycle rule expires them.
  statement {
    sid     = "TagProbes"
    actions = ["s3:PutObjectTagging"]
    resources = [
      "${aws_s3_bucket.documents.arn}/${local.raw_prefix}*",
      "${aws_s3_bucket.documents.arn}/${local.incoming_prefix}*",
      "${aws_s3_bucket.documents.arn}/${local.quarantine_prefix}*",
    ]
  }
}

# record_metadata: reads incoming/ (head, the first bytes to sniff the type, the whole body to
# hash an upload), reads the api's upload item (who signed a form) and a message's filing by
# staff (issue 21: a file record follows a re-filed case), puts file records.
data "aws_iam_policy_document" "record_metadata" {
  source_policy_documents = [data.aws_iam_policy_document.function_common["record_metadata"].json]

  statement {
    sid       = "ReadUploadSigner"
    actions   = ["dynamodb:GetItem"]
    resources = [aws_dynamodb_table.documents.arn]
  }

  statement {
    sid       = "ReadIncoming"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.documents.arn}/${local.incoming_prefix}*"]
  }

  # Issue 20: a file record is updated (staff's delete mark is never overwritten), and an
  # inline image's earlier sightings from its sender domain are counted (a Query of the base
  # table, at most signature_repeats keys; no index).
  statement {
    sid       = "UpdateFileRecordsCountSightings"
    actions   = ["dynamodb:UpdateItem", "dynamodb:Query"]
    resources = [aws_dynamodb_table.documents.arn]
  }

  # Issue 22: a file recorded (or re-filed) into a case under legal hold is held too: every
  # version of its object and of its message's raw object (usecases/holds.follow_case_hold).
  statement {
    sid     = "HoldFilesOfHeldCases"
    actions = ["s3:PutObjectLegalHold"]
    resources = [
      "${aws_s3_bucket.documents.arn}/${local.incoming_prefix}*",
      "${aws_s3_bucket.documents.arn}/${local.raw_prefix}*",
    ]
  }

  statement {
    sid       = "ListVersionsToHold"
    actions   = ["s3:ListBucketVersions"]
    resources = [aws_s3_bucket.documents.arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${local.incoming_prefix}*", "${local.raw_prefix}*"]
    }
  }
}

# export_case (issue 22): reads the case's records (the by_case index, each message's item
# collection, its job item), the documents' recorded versions and, for --with-raw, the raw
# messages; writes the zip under exports/ in parts; signs SHA256SUMS with the export key.
data "aws_iam_policy_document" "export_case" {
  source_policy_documents = [data.aws_iam_policy_document.function_common["export_case"].json]

  statement {
    sid       = "ReadCaseRecords"
    actions   = ["dynamodb:GetItem", "dynamodb:Query"]
    resources = local.table_and_indexes
  }

  statement {
    sid     = "ReadDocumentsAndRawMessages"
    actions = ["s3:GetObject", "s3:GetObjectVersion"]
    resources = [
      "${aws_s3_bucket.documents.arn}/${local.incoming_prefix}*",
      "${aws_s3_bucket.documents.arn}/${local.raw_prefix}*",
    ]
  }

  # CreateMultipartUpload, UploadPart and CompleteMultipartUpload are all s3:PutObject.
  statement {
    sid       = "WriteExports"
    actions   = ["s3:PutObject", "s3:AbortMultipartUpload"]
    resources = ["${aws_s3_bucket.documents.arn}/${local.exports_prefix}*"]
  }

  statement {
    sid       = "SignExports"
    actions   = ["kms:Sign", "kms:GetPublicKey"]
    resources = [aws_kms_key.export_signing.arn]
  }

  # Its job item only (adapters/export_jobs.py: pk EXPORT#<job>; UpdateItem creates it when
  # the CLI started the job), never a record or an audit entry.
  statement {
    sid       = "UpdateOwnJobItems"
    actions   = ["dynamodb:UpdateItem"]
    resources = [aws_dynamodb_table.documents.arn]

    condition {
      test     = "ForAllValues:StringLike"
      variable = "dynamodb:LeadingKeys"
      values   = ["EXPORT#*"]
    }
  }

  # One `export` entry per export on the audit trail (mailroom/audit.py): a new item in a
  # server partition (AUDIT#...), never a change to one.
  statement {
    sid       = "AppendAuditEntries"
    actions   = ["dynamodb:PutItem"]
    resources = [aws_dynamodb_table.documents.arn]

    condition {
      test     = "ForAllValues:StringLike"
      variable = "dynamodb:LeadingKeys"
      values   = ["AUDIT#*"]
    }
  }
}

locals {
  record_write_actions = {
    extract_attachments = ["dynamodb:PutItem"]
    record_metadata     = ["dynamodb:PutItem", "dynamodb:UpdateItem"]
    export_case         = [] # its own job items and audit entries only (below)
  }

  function_policies = {
    extract_attachments = data.aws_iam_policy_document.extract_attachments.json
    record_metadata     = data.aws_iam_policy_document.record_metadata.json
    export_case         = data.aws_iam_policy_document.export_case.json
  }
}

resource "aws_iam_role_policy" "function" {
  for_each = local.functions

  name   = "${each.value.name}-policy"
  role   = aws_iam_role.function[each.key].id
  policy = local.function_policies[each.key]
}
