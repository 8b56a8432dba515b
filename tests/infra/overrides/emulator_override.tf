# TEST ONLY (copied next to infra/*.tf by tests/infra/conftest.py, never part of a deploy).
# The emulator has no real credentials, metadata service or region list; its endpoint comes
# from AWS_ENDPOINT_URL in the tests' environment.
provider "aws" {
  s3_use_path_style           = true
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
}
