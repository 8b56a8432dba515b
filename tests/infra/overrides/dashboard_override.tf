# TEST ONLY (copied next to infra/*.tf by tests/infra/conftest.py, never part of a deploy).
# moto 5.2 has no CloudFront response headers policies (CreateResponseHeadersPolicy answers
# 404), so the emulator's stack goes without one and the distribution's two behaviours
# without their response_headers_policy_id. Everything else of default_cache_behavior and
# ordered_cache_behavior (/api/*) is as in infra/dashboard.tf (tests/infra/test_static.py
# checks that each block differs only there),
# and the policy's settings are checked from the plan and `terraform console` instead
# (tests/infra/test_stack.py). A nested block in an override replaces the original's.
resource "aws_cloudfront_response_headers_policy" "dashboard" {
  count = 0
}

# The distribution is also applied disabled: to delete an enabled distribution the provider
# first disables it and then waits for the change to deploy, with fixed delays of its own
# (about 30 s against an emulator that deploys at once), on every test run's destroy.
# `enabled = true` is checked from the plan's configuration instead (tests/infra/test_stack.py).
resource "aws_cloudfront_distribution" "dashboard" {
  enabled = false

  default_cache_behavior {
    target_origin_id       = "site"
    viewer_protocol_policy = "redirect-to-https"
    allowed_methods        = ["GET", "HEAD"]
    cached_methods         = ["GET", "HEAD"]
    compress               = true
    cache_policy_id        = local.caching_optimized_policy_id
  }

  ordered_cache_behavior {
    path_pattern             = "${local.api_path_prefix}/*"
    target_origin_id         = "api"
    viewer_protocol_policy   = "https-only"
    allowed_methods          = ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"]
    cached_methods           = ["GET", "HEAD"]
    compress                 = false
    cache_policy_id          = local.caching_disabled_policy_id
    origin_request_policy_id = local.all_viewer_except_host_header_policy_id
  }
}
