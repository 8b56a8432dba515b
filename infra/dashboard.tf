# The staff dashboard: the page files of web/ in a private bucket, served only through a
# CloudFront distribution (origin access control), HTTPS only, with security headers. The page
# holds no AWS credentials: it signs in with the user pool (auth.tf), calls the API (api.tf)
# with the token, and moves bytes with the presigned URLs the API hands out (the document
# bucket's CORS below lets it). The same distribution serves the API under /api/* (one
# origin: the page needs no CORS for it, and its CSP names no API host).

locals {
  site_bucket_name = "${var.name_prefix}-${local.account_id}-${var.region}-dashboard"
  dashboard_url    = "https://${aws_cloudfront_distribution.dashboard.domain_name}"

  site_dir = coalesce(var.site_dir, "${path.module}/../web")
  # Every file of the page, as it is; config.json is Terraform's (below), never a local copy.
  # fileset() of a missing folder is empty, so a checkout without web/ still plans.
  site_files = toset([for f in fileset(local.site_dir, "**") : f if f != "config.json"])
  site_content_types = {
    html  = "text/html; charset=utf-8"
    js    = "text/javascript; charset=utf-8"
    mjs   = "text/javascript; charset=utf-8"
    css   = "text/css; charset=utf-8"
    json  = "application/json"
    map   = "application/json"
    svg   = "image/svg+xml"
    png   = "image/png"
    jpg   = "image/jpeg"
    ico   = "image/x-icon"
    webp  = "image/webp"
    woff2 = "font/woff2"
    txt   = "text/plain; charset=utf-8"
  }

  # The page's contract (web/ reads /config.json at start).
  dashboard_config = {
    apiUrl = "${local.dashboard_url}${local.api_path_prefix}"
    auth = {
      mode        = "cognito"
      domain      = local.cognito_domain_url
      clientId    = aws_cognito_user_pool_client.dashboard.id
      redirectUri = "${local.dashboard_url}/"
    }
  }

  # What the page may connect to: itself (the page and, under /api/*, the API), the sign-in
  # domain (token endpoint) and the document bucket (presigned POST and GET; boto3 signs for
  # either endpoint form). No execute-api host: any account's API would match a wildcard.
  content_security_policy = join("; ", [
    "default-src 'self'",
    join(" ", [
      "connect-src 'self'",
      local.cognito_domain_url,
      "https://${local.bucket_name}.s3.amazonaws.com",
      "https://${local.bucket_name}.s3.${var.region}.amazonaws.com",
    ]),
    "object-src 'none'",
    "base-uri 'self'",
    "frame-ancestors 'none'",
  ])

  # AWS's managed cache policy CachingOptimized; objects carry Cache-Control: no-cache, so a
  # new deploy shows at the next load.
  caching_optimized_policy_id = "658327ea-f89d-4fab-a63d-7e88639e58f6"

  # /api/*: AWS's managed CachingDisabled cache policy (TTLs 0, nothing in the cache key:
  # "Use managed cache policies",
  # https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-cache-policies.html)
  # and AllViewerExceptHostHeader origin request policy (every viewer header, cookie and query
  # string except Host, which API Gateway needs to be its own: "Use managed origin request
  # policies",
  # https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-origin-request-policies.html).
  # The ids are AWS's, the same in every account; tests/infra/test_static.py pins them.
  caching_disabled_policy_id              = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
  all_viewer_except_host_header_policy_id = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
  api_origin_domain                       = trimprefix(aws_apigatewayv2_api.staff.api_endpoint, "https://")
}

################################################################################
# Site bucket
################################################################################

resource "aws_s3_bucket" "site" {
  #checkov:skip=CKV_AWS_144:The page is rebuilt from the repository by `terraform apply`; replicating it protects nothing
  #checkov:skip=CKV_AWS_145:The page's files are served to anyone who opens the dashboard; SSE-KMS would need the key policy to trust CloudFront and protect nothing (SSE-S3 encrypts at rest)
  #checkov:skip=CKV2_AWS_62:Nothing reacts to changes of the page's files, so there is no notification to send
  bucket        = local.site_bucket_name
  force_destroy = var.force_destroy
}

resource "aws_s3_bucket_ownership_controls" "site" {
  bucket = aws_s3_bucket.site.id

  rule {
    # Required by origin access control; ACLs disabled, the bucket policy is the only grant.
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "site" {
  bucket = aws_s3_bucket.site.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "site" {
  bucket = aws_s3_bucket.site.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "site" {
  bucket = aws_s3_bucket.site.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "site" {
  bucket = aws_s3_bucket.site.id

  rule {
    id     = "expire-old-page-versions"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_retention_days
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  depends_on = [aws_s3_bucket_versioning.site]
}

resource "aws_s3_bucket_logging" "site" {
  bucket        = aws_s3_bucket.site.id
  target_bucket = aws_s3_bucket.logs.id
  target_prefix = "s3/${local.site_bucket_name}/"

  depends_on = [aws_s3_bucket_policy.logs]
}

# Only the distribution reads the bucket: CloudFront signs its requests (OAC) and S3 checks
# that they come from this distribution (aws:SourceArn), per "Restrict access to an Amazon S3
# origin" (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-restricting-access-to-s3.html).
data "aws_iam_policy_document" "site" {
  # Kept first: the emulator stops reading a policy at a statement whose principal is "*".
  statement {
    sid       = "CloudFrontReadsThroughOac"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.site.arn}/*"]

    principals {
      type        = "Service"
      identifiers = ["cloudfront.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "AWS:SourceArn"
      values   = [aws_cloudfront_distribution.dashboard.arn]
    }
  }

  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.site.arn,
      "${aws_s3_bucket.site.arn}/*",
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

resource "aws_s3_bucket_policy" "site" {
  bucket = aws_s3_bucket.site.id
  policy = data.aws_iam_policy_document.site.json

  depends_on = [aws_s3_bucket_public_access_block.site]
}

resource "aws_s3_object" "site" {
  for_each = local.site_files

  bucket        = aws_s3_bucket.site.id
  key           = each.value
  source        = "${local.site_dir}/${each.value}"
  etag          = filemd5("${local.site_dir}/${each.value}")
  content_type  = lookup(local.site_content_types, lower(reverse(split(".", each.value))[0]), "application/octet-stream")
  cache_control = "no-cache"
}

resource "aws_s3_object" "site_config" {
  bucket        = aws_s3_bucket.site.id
  key           = "config.json"
  content       = jsonencode(local.dashboard_config)
  content_type  = "application/json"
  cache_control = "no-cache"
}

################################################################################
# CloudFront
################################################################################

resource "aws_cloudfront_origin_access_control" "site" {
  name                              = "${var.name_prefix}-dashboard"
  description                       = "CloudFront signs its requests to the dashboard bucket"
  origin_access_control_origin_type = "s3"
  signing_behavior                  = "always"
  signing_protocol                  = "sigv4"
}

resource "aws_cloudfront_response_headers_policy" "dashboard" {
  name    = "${var.name_prefix}-dashboard"
  comment = "mailroom dashboard: CSP, HSTS, no framing, no sniffing, no referrer"

  security_headers_config {
    content_security_policy {
      content_security_policy = local.content_security_policy
      override                = true
    }

    strict_transport_security {
      access_control_max_age_sec = 63072000 # two years
      include_subdomains         = true
      # Only a request to the browsers' preload list acts on it; the header alone is harmless.
      preload  = true
      override = true
    }

    frame_options {
      frame_option = "DENY"
      override     = true
    }

    content_type_options {
      override = true
    }

    # The sign-in redirect puts the authorization code in the page's URL: never send it on.
    referrer_policy {
      referrer_policy = "no-referrer"
      override        = true
    }
  }
}

resource "aws_cloudfront_distribution" "dashboard" {
  #checkov:skip=CKV_AWS_68:A WAF web ACL costs more than the page is worth: the site is static files, and the API it calls checks a JWT on every route
  #checkov:skip=CKV2_AWS_47:No WAF (see CKV_AWS_68), so no Log4j rule; nothing behind the distribution runs Java
  #checkov:skip=CKV_AWS_86:CloudFront standard logging needs a bucket with ACLs enabled; the stack's buckets have ACLs disabled (the API keeps access logs)
  #checkov:skip=CKV_AWS_174:The default *.cloudfront.net certificate is used (no custom domain), and CloudFront fixes its minimum TLS version
  #checkov:skip=CKV2_AWS_42:No custom domain: the default *.cloudfront.net certificate serves HTTPS
  #checkov:skip=CKV_AWS_310:Two origins, each the only one of its kind (the site bucket, the API); a failover origin would be a copy of the same files or API
  #checkov:skip=CKV_AWS_374:Staff may sign in from anywhere; the page itself is public and holds no data
  enabled             = true
  comment             = "mailroom ${var.name_prefix}: staff dashboard"
  default_root_object = "index.html"
  is_ipv6_enabled     = true
  http_version        = "http2and3"
  price_class         = var.dashboard_price_class

  origin {
    origin_id                = "site"
    domain_name              = aws_s3_bucket.site.bucket_regional_domain_name
    origin_access_control_id = aws_cloudfront_origin_access_control.site.id
  }

  # The staff HTTP API (api.tf), whose routes all start with /api/: CloudFront passes the path
  # on unchanged, so /api/files here is GET /api/files there.
  origin {
    origin_id   = "api"
    domain_name = local.api_origin_domain

    custom_origin_config {
      http_port              = 80
      https_port             = 443
      origin_protocol_policy = "https-only"
      origin_ssl_protocols   = ["TLSv1.2"]
    }
  }

  default_cache_behavior {
    target_origin_id           = "site"
    viewer_protocol_policy     = "redirect-to-https"
    allowed_methods            = ["GET", "HEAD"]
    cached_methods             = ["GET", "HEAD"]
    compress                   = true
    cache_policy_id            = local.caching_optimized_policy_id
    response_headers_policy_id = aws_cloudfront_response_headers_policy.dashboard.id
  }

  # The API: never cached, every method, the viewer's headers (Authorization) passed on.
  ordered_cache_behavior {
    path_pattern               = "${local.api_path_prefix}/*"
    target_origin_id           = "api"
    viewer_protocol_policy     = "https-only"
    allowed_methods            = ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"]
    cached_methods             = ["GET", "HEAD"]
    compress                   = false
    cache_policy_id            = local.caching_disabled_policy_id
    origin_request_policy_id   = local.all_viewer_except_host_header_policy_id
    response_headers_policy_id = aws_cloudfront_response_headers_policy.dashboard.id
  }

  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }

  viewer_certificate {
    cloudfront_default_certificate = true
  }
}

################################################################################
# Document bucket CORS: the page's uploads (presigned POST) and downloads (presigned GET)
################################################################################

resource "aws_s3_bucket_cors_configuration" "documents" {
  bucket = aws_s3_bucket.documents.id

  cors_rule {
    id              = "dashboard"
    allowed_origins = [local.dashboard_url]
    allowed_methods = ["GET", "HEAD", "POST"]
    allowed_headers = ["content-type", "range"]
    expose_headers  = ["ETag", "Content-Disposition"]
    max_age_seconds = 600
  }
}
