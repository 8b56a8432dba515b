# Least-privilege managed policies for people: attach one to the staff's users, groups or
# SSO permission sets (outputs reader_policy_arn, uploader_policy_arn and admin_policy_arn).
#
# - reader: what `mailroom list`, `show`, `message`, `messages`, `duplicates`, `get`, `url` and
#   `export` call: Query and GetItem on the table and its indexes, GetObject on incoming/ only,
#   Sign and GetPublicKey with the export signing key, and PutItem of the CLI's own
#   client-reported audit entries (CLIENTAUDIT# keys; issue 22).
# - uploader: the reader's, plus `mailroom upload` (PutObject under incoming/up-) and
#   `mailroom file` (UpdateItem limited to the filing attributes).
# - admin: the uploader's, plus `mailroom delete` (DeleteObject on incoming/, and UpdateItem
#   limited to the delete mark's attributes), plus invoking the functions that do the rest of
#   an admin's work with their own role (reprocess and redrive hand events to extract_attachments
#   and record_metadata). Whatever must write raw/, quarantine/ or the pipeline's fields of a
#   record runs in a function, never with broad rights on a person's credentials.
#   Plus `mailroom hold` (issue 22): the legal hold of object versions under incoming/ and raw/
#   (s3:PutObjectLegalHold, GetObjectLegalHold, and ListBucketVersions for those two prefixes),
#   whether the bucket has Object Lock, and UpdateItem limited to the hold's attributes. The
#   admin runs it with their own credentials (it must report what it did, synchronously, and a
#   hold binds every person: an admin's act).
# All three are explicitly denied raw/ (whole messages, bodies included) and quarantine/ (what
# policy kept away from people), whatever else a person may be granted. For the admin, the raw/
# deny excepts exactly the two legal-hold actions (NotAction in a Deny: every other action on
# raw/, reading above all, stays denied); a legal hold reads no byte and changes none.
#
# tests/infra/test_stack.py runs those CLI commands with nothing but the reader policy against
# the applied stack (moto enforces IAM for S3 and, with the tests' emulator, DynamoDB), and
# evaluates the documents against every API call the commands were seen to make.

locals {
  table_and_indexes = [
    aws_dynamodb_table.documents.arn,
    "${aws_dynamodb_table.documents.arn}/index/*",
  ]

  # S3 and DynamoDB call KMS on the person's behalf with this key (objects and the table are
  # encrypted with it). kms:ViaService limits the grant to those calls: the key cannot be
  # used directly (https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service).
  kms_via_services = [
    "s3.${var.region}.amazonaws.com",
    "dynamodb.${var.region}.amazonaws.com",
  ]

  # Issue 22 (functions/mailroom/audit.py): the partition keys of audit entries. AUDIT#...
  # are the server's (the api, the functions), CLIENTAUDIT#... what a CLI reports.
  audit_server_keys = "AUDIT#*"
  audit_client_keys = "CLIENTAUDIT#*"
  audit_keys        = [local.audit_server_keys, local.audit_client_keys]
  # Every attribute an audit entry has (audit.to_item): a reported entry can carry no other
  # (no record's index key), so it cannot pose as a record in any listing.
  audit_attributes = [
    "pk", "sk", "type", "actor", "at", "action", "target_kind", "target_id", "origin",
    "reported_by", "entry_id", "sort_key", "time_key", "actor_key", "expires_at", "details",
  ]
}

data "aws_iam_policy_document" "staff_reader" {
  statement {
    sid       = "QueryRecords"
    actions   = ["dynamodb:Query", "dynamodb:GetItem"]
    resources = local.table_and_indexes
  }

  # Records carry the object's version id, and `get` asks for that version.
  statement {
    sid       = "ReadIntake"
    actions   = ["s3:GetObject", "s3:GetObjectVersion"]
    resources = ["${aws_s3_bucket.documents.arn}/${local.incoming_prefix}*"]
  }

  # GetObject of an SSE-KMS object decrypts its data key
  # (https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html).
  statement {
    sid       = "DecryptThroughS3AndDynamoDb"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.this.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = local.kms_via_services
    }
  }

  # Issue 22: the CLI reports what it does (list, show, get, url, upload, delete, file) as a
  # client entry: a PutItem of a CLIENTAUDIT# key with an audit entry's attributes only. A
  # person cannot write the server's AUDIT# entries, nor change or remove any entry.
  statement {
    sid       = "ReportClientAuditEntries"
    actions   = ["dynamodb:PutItem"]
    resources = [aws_dynamodb_table.documents.arn]

    condition {
      test     = "ForAllValues:StringLike"
      variable = "dynamodb:LeadingKeys"
      values   = [local.audit_client_keys]
    }

    condition {
      test     = "ForAllValues:StringEquals"
      variable = "dynamodb:Attributes"
      values   = local.audit_attributes
    }
  }

  statement {
    sid       = "NeverChangeAuditEntries"
    effect    = "Deny"
    actions   = ["dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"]
    resources = [aws_dynamodb_table.documents.arn]

    condition {
      test     = "ForAnyValue:StringLike"
      variable = "dynamodb:LeadingKeys"
      values   = local.audit_keys
    }
  }

  statement {
    sid       = "NeverWriteServerAuditEntries"
    effect    = "Deny"
    actions   = ["dynamodb:PutItem"]
    resources = [aws_dynamodb_table.documents.arn]

    condition {
      test     = "ForAnyValue:StringLike"
      variable = "dynamodb:LeadingKeys"
      values   = [local.audit_server_keys]
    }
  }

  # `mailroom export` (issue 22): sign an export's SHA256SUMS, and read the public key it ships.
  # The key only signs (SIGN_VERIFY); nothing it protects can be read with it.
  statement {
    sid       = "SignExports"
    actions   = ["kms:Sign", "kms:GetPublicKey"]
    resources = [aws_kms_key.export_signing.arn]
  }

  # An explicit deny wins over any allow from another policy.
  statement {
    sid     = "NeverRawOrQuarantine"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      "${aws_s3_bucket.documents.arn}/${local.raw_prefix}*",
      "${aws_s3_bucket.documents.arn}/${local.quarantine_prefix}*",
    ]
  }
}

data "aws_iam_policy_document" "staff_uploader" {
  source_policy_documents = [data.aws_iam_policy_document.staff_reader.json]

  # Uploads go to incoming/<upload-id>/, in parts when large; a failed upload is aborted.
  statement {
    sid       = "UploadIntoIntake"
    actions   = ["s3:PutObject", "s3:AbortMultipartUpload"]
    resources = ["${aws_s3_bucket.documents.arn}/${local.upload_prefix}*"]
  }

  # PutObject into an SSE-KMS bucket generates a data key; each part of a multipart upload
  # decrypts it again (Decrypt comes with the reader's statement).
  statement {
    sid       = "EncryptThroughS3"
    actions   = ["kms:GenerateDataKey"]
    resources = [aws_kms_key.this.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${var.region}.amazonaws.com"]
    }
  }

  # `mailroom file` (issue 21): a message's and its files' case, and who filed it when. Every
  # attribute the request names must be one of these (as MarkDeleted below), so re-filing
  # cannot rewrite what the pipeline recorded.
  statement {
    sid       = "FileMessages"
    actions   = ["dynamodb:UpdateItem"]
    resources = [aws_dynamodb_table.documents.arn]

    condition {
      test     = "ForAllValues:StringEquals"
      variable = "dynamodb:Attributes"
      values   = ["pk", "sk", "case", "case_key", "filed_by", "filed_at", "needs_filing", "filing_key"]
    }
  }
}

# The admin's raw/ deny: the reader's NeverRawOrQuarantine (same sid, replaced through
# override_policy_documents) with the two legal-hold actions excepted on raw/; quarantine/
# stays denied whole.
data "aws_iam_policy_document" "staff_admin_denies" {
  statement {
    sid         = "NeverRawOrQuarantine"
    effect      = "Deny"
    not_actions = ["s3:PutObjectLegalHold", "s3:GetObjectLegalHold"]
    resources   = ["${aws_s3_bucket.documents.arn}/${local.raw_prefix}*"]
  }

  statement {
    sid       = "NeverQuarantine"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = ["${aws_s3_bucket.documents.arn}/${local.quarantine_prefix}*"]
  }
}

data "aws_iam_policy_document" "staff_admin" {
  source_policy_documents   = [data.aws_iam_policy_document.staff_uploader.json]
  override_policy_documents = [data.aws_iam_policy_document.staff_admin_denies.json]

  # `mailroom delete`: the current version of a file's object (versioning keeps the bytes, and
  # s3:DeleteObjectVersion, which would destroy them, is not granted).
  statement {
    sid       = "DeleteFromIntake"
    actions   = ["s3:DeleteObject"]
    resources = ["${aws_s3_bucket.documents.arn}/${local.incoming_prefix}*"]
  }

  # ... and the record's delete mark. Every attribute the request names (key, condition,
  # update) must be one of these, so a person cannot rewrite what the pipeline recorded
  # (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/specifying-conditions.html).
  # `held` is read by the mark's condition: a file under legal hold is never marked deleted.
  statement {
    sid       = "MarkDeleted"
    actions   = ["dynamodb:UpdateItem"]
    resources = [aws_dynamodb_table.documents.arn]

    condition {
      test     = "ForAllValues:StringEquals"
      variable = "dynamodb:Attributes"
      values   = ["pk", "sk", "deleted", "deleted_by", "deleted_at", "held"]
    }
  }

  # `mailroom hold` (issue 22): the legal hold of every version of a case's objects and of its
  # messages' raw objects. No s3:PutObjectRetention, no s3:BypassGovernanceRetention.
  statement {
    sid     = "HoldVersions"
    actions = ["s3:PutObjectLegalHold", "s3:GetObjectLegalHold"]
    resources = [
      "${aws_s3_bucket.documents.arn}/${local.incoming_prefix}*",
      "${aws_s3_bucket.documents.arn}/${local.raw_prefix}*",
    ]
  }

  # ListObjectVersions with one object's key as the prefix, under those two prefixes only.
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

  # `hold` first checks that the bucket has Object Lock (GetObjectLockConfiguration).
  statement {
    sid       = "ReadObjectLockConfiguration"
    actions   = ["s3:GetBucketObjectLockConfiguration"]
    resources = [aws_s3_bucket.documents.arn]
  }

  # The hold's mark on file records and on the case's hold item (CASE#<case> / HOLD), as
  # MarkDeleted: no other attribute.
  statement {
    sid       = "MarkHeld"
    actions   = ["dynamodb:UpdateItem"]
    resources = [aws_dynamodb_table.documents.arn]

    condition {
      test     = "ForAllValues:StringEquals"
      variable = "dynamodb:Attributes"
      values   = ["pk", "sk", "held", "held_by", "held_at", "hold_reason"]
    }
  }

  # `mailroom reprocess` and `redrive` hand events to the pipeline's functions (asynchronous
  # invokes): the functions' own roles write raw/-derived objects and records.
  statement {
    sid     = "InvokeThePipeline"
    actions = ["lambda:InvokeFunction"]
    resources = [
      aws_lambda_function.this["extract_attachments"].arn,
      aws_lambda_function.this["record_metadata"].arn,
      aws_lambda_function.this["export_case"].arn, # issue 22: `mailroom export --with-raw`
    ]
  }

  # ... and download the zip it built (issue 22). Readers and uploaders may not read exports/
  # (no grant): an export with raw messages is for admins only.
  statement {
    sid       = "ReadExports"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.documents.arn}/${local.exports_prefix}*"]
  }
}

resource "aws_iam_policy" "staff_reader" {
  name        = "${var.name_prefix}-${var.region}-reader" # IAM names are account-wide
  description = "mailroom ${var.name_prefix}: read file and message records and download files from incoming/ (never raw/ or quarantine/)"
  policy      = data.aws_iam_policy_document.staff_reader.json
}

resource "aws_iam_policy" "staff_uploader" {
  name        = "${var.name_prefix}-${var.region}-uploader"
  description = "mailroom ${var.name_prefix}: the reader's permissions, plus uploads into ${local.upload_prefix}"
  policy      = data.aws_iam_policy_document.staff_uploader.json
}

resource "aws_iam_policy" "staff_admin" {
  name        = "${var.name_prefix}-${var.region}-admin"
  description = "mailroom ${var.name_prefix}: the uploader's permissions, plus deletes (current version and delete mark only), legal holds, and invoking the pipeline's functions"
  policy      = data.aws_iam_policy_document.staff_admin.json
}
