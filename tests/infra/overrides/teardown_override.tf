# TEST ONLY, and step 1 of the documented teardown (docs/DEPLOY.md, "Tear down").
# infra/ marks the bucket, the table and the key `prevent_destroy`, a literal Terraform cannot
# take from a variable; an override file lifts it without editing the module. Lifecycle
# settings in an override merge argument by argument, so nothing else changes.
resource "aws_s3_bucket" "documents" {
  lifecycle {
    prevent_destroy = false
  }
}

resource "aws_dynamodb_table" "documents" {
  lifecycle {
    prevent_destroy = false
  }
}

resource "aws_kms_key" "this" {
  lifecycle {
    prevent_destroy = false
  }
}
