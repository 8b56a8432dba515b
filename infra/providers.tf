# The production provider: credentials, region and endpoints as every AWS tool finds them.
# Nothing here knows about the emulator: the infra tests add tests/infra/overrides/*_override.tf
# to their working copy (path-style S3, no credential or region checks) and point the provider
# at moto through AWS_ENDPOINT_URL, which the provider honours like the AWS SDKs do.
provider "aws" {
  region = var.region

  default_tags {
    tags = merge(
      {
        Project   = "mailroom"
        Stack     = var.name_prefix
        ManagedBy = "terraform"
      },
      var.tags,
    )
  }
}
