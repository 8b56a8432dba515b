# The api function's role: exactly what handlers/api.py and its use cases call
# (usecases/files.py, messages.py, downloads.py, uploads.py, deletes.py, holds.py through
# adapters/catalog.py and adapters/s3.py). Presigned links and forms are signed with this
# role's credentials, so S3 authorises the browser's GET or POST as this role: the role needs
# s3:GetObject(Version) and s3:PutObject although the function itself never moves a byte.
# tests/infra/test_stack.py evaluates this document against allowed and refused requests.

resource "aws_iam_role" "api" {
  name               = "${local.api_function_name}-${var.region}-role" # IAM names are account-wide
  description        = "Execution role of ${local.api_function_name}"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
}

data "aws_iam_policy_document" "api" {
  # Catalog.get_file (GetItem), get_message and every listing (Query on the table and its
  # indexes).
  statement {
    sid       = "ReadRecords"
    actions   = ["dynamodb:GetItem", "dynamodb:Query"]
    resources = local.table_and_indexes
  }

  # Catalog.mark_deleted: an UpdateItem on the file record (who, when), never a put; and an
  # export job's item (issue 22: created with UpdateItem, adapters/export_jobs.py).
  statement {
    sid       = "MarkDeleted"
    actions   = ["dynamodb:UpdateItem"]
    resources = [aws_dynamodb_table.documents.arn]
  }

  # Issue 22: AuditTrail.append, the server's audit entry of every call it serves: a PutItem
  # (conditional: attribute_not_exists) of the AUDIT# keys only. dynamodb:LeadingKeys is the
  # partition key of the item written
  # (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/specifying-conditions.html).
  statement {
    sid       = "AppendAuditEntries"
    actions   = ["dynamodb:PutItem"]
    resources = [aws_dynamodb_table.documents.arn]

    condition {
      test     = "ForAllValues:StringLike"
      variable = "dynamodb:LeadingKeys"
      values   = [local.audit_server_keys]
    }
  }

  # An audit entry is never changed or removed through the product (DynamoDB's TTL removes it
  # after audit_retention_days): no UpdateItem or DeleteItem on its keys, whatever else the
  # role is ever granted (its UpdateItem above is for records).
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

  # S3Store.presigned_get: a GET of the recorded version (VersionId: s3:GetObjectVersion),
  # or of the current one for a record without a version.
  statement {
    sid       = "SignDownloads"
    actions   = ["s3:GetObject", "s3:GetObjectVersion"]
    resources = ["${aws_s3_bucket.documents.arn}/${local.incoming_prefix}*"]
  }

  # S3Store.presigned_post: one form upload under incoming/up-<upload id>/ (uploads.py).
  statement {
    sid       = "SignUploads"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.documents.arn}/${local.upload_prefix}*"]
  }

  # Issue 22: POST /cases/{case}/export hands the job to the export function (asynchronous),
  # and GET /exports/{job} signs a GET of its zip (the only reader of exports/ a browser uses).
  statement {
    sid       = "StartExportJobs"
    actions   = ["lambda:InvokeFunction"]
    resources = [aws_lambda_function.this["export_case"].arn]
  }

  statement {
    sid       = "SignExportDownloads"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.documents.arn}/${local.exports_prefix}*"]
  }

  # S3Store.delete_current: DeleteObject without a version id; versioning keeps the bytes as a
  # noncurrent version. No s3:DeleteObjectVersion: the function cannot destroy a version.
  statement {
    sid       = "DeleteCurrentVersion"
    actions   = ["s3:DeleteObject"]
    resources = ["${aws_s3_bucket.documents.arn}/${local.incoming_prefix}*"]
  }

  # S3 (SSE-KMS objects: Decrypt for a GET, GenerateDataKey for a POST) and DynamoDB (the
  # table's key) use the key on the role's behalf; kms:ViaService keeps it to those calls
  # (https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service).
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

  # The function's environment is encrypted with the stack key (checkov CKV_AWS_173 and the
  # one-key design), and Lambda decrypts it on the role's behalf at each cold start. An
  # identity-policy grant through Lambda (kms:ViaService) keeps that working when the role is
  # recreated, instead of resting on the grant Lambda made for the old role (ARCHITECTURE.md,
  # "The api function's environment").
  statement {
    sid       = "DecryptOwnEnvironmentThroughLambda"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.this.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["lambda.${var.region}.amazonaws.com"]
    }
  }

  statement {
    sid       = "EncryptUploadsThroughS3"
    actions   = ["kms:GenerateDataKey"]
    resources = [aws_kms_key.this.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${var.region}.amazonaws.com"]
    }
  }

  # Issue 22: POST /messages/{id}/release hands an asynchronous event to the extract function
  # (usecases/release.py through adapters/lambda_invoke.py), which releases the message with its
  # own role; this role never writes objects or the pipeline's fields itself.
  statement {
    sid       = "InvokeExtractForReleases"
    actions   = ["lambda:InvokeFunction"]
    resources = [aws_lambda_function.this["extract_attachments"].arn]
  }

  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.api_function.arn}:*"]
  }

  # X-Ray has no resource-level permissions: "*" is the only resource it accepts.
  statement {
    sid       = "Tracing"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }

  # POST /cases/{case}/hold (usecases/holds.py, issue 22): the legal hold of every version of
  # a case's objects and of its messages' raw objects, listed one key at a time; the hold's
  # attributes are written by the MarkDeleted statement's UpdateItem.
  statement {
    sid     = "HoldVersions"
    actions = ["s3:PutObjectLegalHold", "s3:GetObjectLegalHold"]
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

  statement {
    sid       = "ReadObjectLockConfiguration"
    actions   = ["s3:GetBucketObjectLockConfiguration"]
    resources = [aws_s3_bucket.documents.arn]
  }

  # Whole messages (raw/) and what policy kept from people (quarantine/) are never signed
  # for, whatever else the role is ever granted. On raw/, only the two legal-hold actions are
  # excepted (NotAction in a Deny): a hold reads no byte of a message and changes none.
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

resource "aws_iam_role_policy" "api" {
  name   = "${local.api_function_name}-policy"
  role   = aws_iam_role.api.id
  policy = data.aws_iam_policy_document.api.json
}
