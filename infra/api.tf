# The staff API: an HTTP API (JWT authorizer on every route) in front of the `api` function
# (functions/mailroom/handlers/api.py, powertools' APIGatewayHttpResolver, payload 2.0).
# The function runs the same zip and layer as the others, with a role of its own (iam_api.tf).
# It is invoked synchronously, so it has no dead-letter queue: a failure is the caller's 5xx.

locals {
  api_function_name = "${var.name_prefix}-api"

  # What the function reads besides the common settings (ApiSettings in settings.py). An empty
  # MAILROOM_UPLOAD_TYPES keeps the function's own list.
  api_environment = merge(local.function_environment, {
    MAILROOM_DASHBOARD_ORIGIN = local.dashboard_url
    MAILROOM_UPLOAD_MAX_BYTES = tostring(var.upload_max_bytes)
    MAILROOM_UPLOAD_TYPES     = join(",", var.upload_types)
    MAILROOM_LINK_SECONDS     = tostring(var.download_link_seconds)
    # Issue 22: POST /messages/{id}/release hands the release to this function (iam_api.tf).
    MAILROOM_EXTRACT_FUNCTION = local.functions.extract_attachments.name
    # Issue 22: export jobs go to this function; their zips are under this prefix.
    MAILROOM_EXPORT_FUNCTION = aws_lambda_function.this["export_case"].function_name
    MAILROOM_EXPORTS_PREFIX  = local.exports_prefix
  })

  # GET/POST/DELETE matched to the actions. An HTTP API hands the function `rawPath` decoded,
  # so a URL-encoded file key arrives with its slashes back: {proxy+} takes it whole and
  # handlers/api.canonical_path puts it back in one segment (see the comment there). The
  # download route (/files/{id}/download) is a GET under /files/{proxy+} too.
  # Every route starts with /api: the dashboard's distribution forwards /api/* here with the
  # path unchanged (dashboard.tf), and the function strips the prefix (handlers/api.py).
  api_path_prefix = "/api"
  api_routes = toset([
    "GET /api/files",
    "GET /api/files/{proxy+}",
    "DELETE /api/files/{proxy+}",
    "POST /api/uploads",
    "GET /api/messages",
    "GET /api/messages/{proxy+}",
    "POST /api/messages/{proxy+}",   # issue 21: /api/messages/{id}/file; issue 22: .../release
    "GET /api/quarantine",           # issue 22: held messages (admins)
    "POST /api/cases/{case}/export", # issue 22: start a case export job (admins)
    "GET /api/exports/{job}",        # issue 22: its progress, and its link once done
    "GET /api/audit",                # issue 22: the audit trail (admins)
    "POST /api/cases/{case}/hold",   # issue 22: legal hold
  ])
}

resource "aws_cloudwatch_log_group" "api_function" {
  name              = "/aws/lambda/${local.api_function_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.this.arn
}

resource "aws_lambda_function" "api" {
  #checkov:skip=CKV_AWS_117:The function calls only AWS APIs (S3, DynamoDB, KMS, X-Ray); a VPC would add NAT or endpoints and protect nothing
  #checkov:skip=CKV_AWS_116:Invoked synchronously by API Gateway: a failure is answered to the caller, there is no asynchronous event to dead-letter

  function_name = local.api_function_name
  description   = "Staff HTTP API: files, messages, presigned downloads and uploads, deletes"
  role          = aws_iam_role.api.arn

  filename         = local.function_zip
  source_code_hash = filebase64sha256(local.function_zip)
  handler          = "mailroom.handlers.api.handler"
  runtime          = "python3.12"
  architectures    = ["arm64"]
  layers           = compact([aws_lambda_layer_version.deps.arn, var.powertools_layer_arn])

  memory_size                    = var.lambda_memory_mb.api
  timeout                        = var.lambda_timeout_seconds.api
  reserved_concurrent_executions = coalesce(var.lambda_reserved_concurrency.api, -1) # -1: no reservation
  code_signing_config_arn        = var.code_signing_config_arn

  kms_key_arn = aws_kms_key.this.arn
  environment {
    variables = local.api_environment
  }

  tracing_config {
    mode = "Active"
  }

  depends_on = [
    aws_cloudwatch_log_group.api_function,
    aws_iam_role_policy.api,
  ]
}

################################################################################
# HTTP API
################################################################################

resource "aws_apigatewayv2_api" "staff" {
  name          = "${var.name_prefix}-api"
  description   = "mailroom ${var.name_prefix}: the staff dashboard's API (JWT from the staff user pool)"
  protocol_type = "HTTP"

  # No CORS configuration: the page reaches the API on its own origin (the distribution's
  # /api/*), the CLI is no browser, so no other origin is ever let read an answer.
}

resource "aws_apigatewayv2_authorizer" "staff" {
  api_id           = aws_apigatewayv2_api.staff.id
  name             = "${var.name_prefix}-staff-pool"
  authorizer_type  = "JWT"
  identity_sources = ["$request.header.Authorization"]

  # An ID token carries the client in `aud`, an access token in `client_id`: API Gateway
  # accepts either against the audience
  # (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html).
  jwt_configuration {
    issuer   = local.user_pool_issuer
    audience = [aws_cognito_user_pool_client.dashboard.id]
  }
}

resource "aws_apigatewayv2_integration" "api" {
  api_id                 = aws_apigatewayv2_api.staff.id
  description            = "The api function, payload 2.0"
  integration_type       = "AWS_PROXY"
  integration_method     = "POST"
  integration_uri        = aws_lambda_function.api.invoke_arn
  payload_format_version = "2.0"
}

resource "aws_apigatewayv2_route" "api" {
  for_each = local.api_routes

  api_id             = aws_apigatewayv2_api.staff.id
  route_key          = each.value
  target             = "integrations/${aws_apigatewayv2_integration.api.id}"
  authorization_type = "JWT"
  authorizer_id      = aws_apigatewayv2_authorizer.staff.id
}

resource "aws_cloudwatch_log_group" "api_access" {
  name              = "/aws/apigateway/${var.name_prefix}-api"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.this.arn
}

resource "aws_apigatewayv2_stage" "default" {
  api_id      = aws_apigatewayv2_api.staff.id
  name        = "$default"
  auto_deploy = true

  default_route_settings {
    throttling_rate_limit  = var.api_throttle.rate_limit
    throttling_burst_limit = var.api_throttle.burst_limit
  }

  # One JSON line per request (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-logging-variables.html):
  # who (the token's subject, never the token), what, the answer and how long it took.
  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.api_access.arn
    format = jsonencode({
      requestId          = "$context.requestId"
      requestTime        = "$context.requestTime"
      sourceIp           = "$context.identity.sourceIp"
      userAgent          = "$context.identity.userAgent"
      routeKey           = "$context.routeKey"
      path               = "$context.path"
      status             = "$context.status"
      responseLength     = "$context.responseLength"
      responseLatency    = "$context.responseLatency"
      integrationLatency = "$context.integrationLatency"
      integrationError   = "$context.integrationErrorMessage"
      authorizerError    = "$context.authorizer.error"
      subject            = "$context.authorizer.claims.sub"
    })
  }
}

# API Gateway may invoke the function for this API's routes only.
resource "aws_lambda_permission" "api_gateway_invokes_api" {
  statement_id  = "AllowStaffHttpApi"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.api.function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.staff.execution_arn}/*/*"
}
