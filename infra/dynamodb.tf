# The one table of functions/mailroom/model.py (table_definition): keys pk/sk and nine sparse
# indexes, each ranged on sort_key and projecting everything. tests/infra compares the applied
# table with that definition, so change both together.
locals {
  table_sort_key = "sort_key"
  table_indexes = {
    by_sender          = "sender_key"
    by_original_sender = "original_sender_key"
    by_time            = "time_key"
    by_sha256          = "sha256_key"
    by_outcome         = "outcome_key"
    by_case            = "case_key"
    by_filing          = "filing_key"
    # --include-claimed: files whose original sender is only claimed (issue 16)
    by_claimed_sender = "claimed_sender_key"
    # issue 22: audit entries by person (functions/mailroom/audit.py)
    by_actor = "actor_key"
  }
  table_attributes = concat(["pk", "sk", local.table_sort_key], values(local.table_indexes))
}

resource "aws_dynamodb_table" "documents" {
  name         = local.table_name
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "pk"
  range_key    = "sk"

  deletion_protection_enabled = !var.force_destroy

  dynamic "attribute" {
    for_each = toset(local.table_attributes)
    content {
      name = attribute.value
      type = "S"
    }
  }

  dynamic "global_secondary_index" {
    for_each = local.table_indexes
    content {
      name            = global_secondary_index.key
      hash_key        = global_secondary_index.value
      range_key       = local.table_sort_key
      projection_type = "ALL"
    }
  }

  point_in_time_recovery {
    enabled = true
  }

  # Issue 18: a probe's records (only they carry expires_at, epoch seconds: probe_expiry_days
  # plus two after receipt) are deleted by DynamoDB, typically within two days of that time;
  # an item without the attribute never expires.
  ttl {
    attribute_name = "expires_at"
    enabled        = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.this.arn
  }

  # The records of every document: `destroy` must not reach it by accident (see DEPLOY.md).
  lifecycle {
    prevent_destroy = true
  }
}
