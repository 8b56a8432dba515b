# One provider for every service. With `aws_endpoint_url` set, every endpoint points at an
# emulator (moto server in CI) and the checks that need a real AWS account are switched off;
# against AWS the variable stays null and the provider behaves as usual.
locals {
  emulated = var.aws_endpoint_url != null
}

provider "aws" {
  region = var.region

  s3_use_path_style           = local.emulated
  skip_credentials_validation = local.emulated
  skip_metadata_api_check     = local.emulated
  skip_region_validation      = local.emulated

  # Null values leave the provider's default endpoints in place.
  endpoints {
    cloudwatch = var.aws_endpoint_url
    dynamodb   = var.aws_endpoint_url
    iam        = var.aws_endpoint_url
    kms        = var.aws_endpoint_url
    lambda     = var.aws_endpoint_url
    logs       = var.aws_endpoint_url
    route53    = var.aws_endpoint_url
    s3         = var.aws_endpoint_url
    ses        = var.aws_endpoint_url
    sns        = var.aws_endpoint_url
    sqs        = var.aws_endpoint_url
    sts        = var.aws_endpoint_url
  }

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
