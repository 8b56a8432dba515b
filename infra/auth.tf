# Staff sign-in: a Cognito user pool (accounts created by an administrator only, see
# docs/DEPLOY.md "Dashboard"), its hosted sign-in page, and the dashboard as a public app
# client (a page holds no secret) using the authorization code grant with PKCE
# (https://docs.aws.amazon.com/cognito/latest/developerguide/using-pkce-in-authorization-code.html).
# The HTTP API's JWT authorizer (api.tf) accepts the tokens this client is issued.

locals {
  cognito_domain_prefix = coalesce(var.cognito_domain_prefix, "${var.name_prefix}-staff-${local.account_id}")
  cognito_domain_url    = "https://${local.cognito_domain_prefix}.auth.${var.region}.amazoncognito.com"
  # The issuer of the pool's tokens (`iss`).
  user_pool_issuer = "https://cognito-idp.${var.region}.amazonaws.com/${aws_cognito_user_pool.staff.id}"
}

resource "aws_cognito_user_pool" "staff" {
  name = "${var.name_prefix}-staff"

  # Staff sign in with their address; it is what files record as the uploader and deleter.
  username_attributes      = ["email"]
  auto_verified_attributes = ["email"]

  # A changed address stays unverified (and the old one in use) until its code is confirmed;
  # the API refuses a token whose email_verified is not true
  # (https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-settings-email-phone-verification.html).
  user_attribute_update_settings {
    attributes_require_verification_before_update = ["email"]
  }

  # No self-service sign-up: an administrator creates each account (admin-create-user).
  admin_create_user_config {
    allow_admin_create_user_only = true
  }

  password_policy {
    minimum_length                   = 14
    require_lowercase                = true
    require_uppercase                = true
    require_numbers                  = true
    require_symbols                  = true
    temporary_password_validity_days = 3
  }

  mfa_configuration = var.staff_mfa
  software_token_mfa_configuration {
    enabled = true
  }

  account_recovery_setting {
    recovery_mechanism {
      name     = "verified_email"
      priority = 1
    }
  }

  # Cognito's threat protection (compromised credentials, risky sign-ins) needs the Plus
  # feature plan (billed per active user): chosen with staff_threat_protection. OFF keeps the
  # pool's default plan; MFA (above) is on either way.
  user_pool_tier = var.staff_threat_protection == "OFF" ? null : "PLUS"
  dynamic "user_pool_add_ons" {
    for_each = var.staff_threat_protection == "OFF" ? [] : [var.staff_threat_protection]
    content {
      advanced_security_mode = user_pool_add_ons.value
    }
  }

  # The pool holds the staff accounts: only a deliberate teardown (force_destroy) removes it.
  deletion_protection = var.force_destroy ? "INACTIVE" : "ACTIVE"
}

resource "aws_cognito_user_pool_domain" "staff" {
  domain       = local.cognito_domain_prefix
  user_pool_id = aws_cognito_user_pool.staff.id
}

resource "aws_cognito_user_pool_client" "dashboard" {
  name         = "${var.name_prefix}-dashboard"
  user_pool_id = aws_cognito_user_pool.staff.id

  # A public client: the page cannot keep a secret, PKCE protects the code instead.
  generate_secret                      = false
  allowed_oauth_flows_user_pool_client = true
  allowed_oauth_flows                  = ["code"]
  allowed_oauth_scopes                 = ["openid", "email", "profile"]
  supported_identity_providers         = ["COGNITO"]
  callback_urls                        = ["${local.dashboard_url}/"]
  logout_urls                          = ["${local.dashboard_url}/"]
  # Only the hosted page signs in; the client itself may only refresh its tokens.
  explicit_auth_flows = ["ALLOW_REFRESH_TOKEN_AUTH"]

  # The address is who a person is to the API (uploader, deleter): the client cannot write it,
  # only an administrator can (admin-update-user-attributes). Listing a harmless attribute
  # keeps Cognito's default, which is every writable attribute.
  write_attributes = ["name"]

  prevent_user_existence_errors = "ENABLED"
  enable_token_revocation       = true

  # A working day at most between sign-ins; ID and access tokens last an hour.
  access_token_validity  = 60
  id_token_validity      = 60
  refresh_token_validity = 12
  token_validity_units {
    access_token  = "minutes"
    id_token      = "minutes"
    refresh_token = "hours"
  }
}

# Roles are Cognito groups; the ID token carries them in `cognito:groups`, and the API checks
# the role each route's use case needs (functions/mailroom/usecases/roles.py, docs/ARCHITECTURE.md
# "Roles"). Hierarchical: an uploader may read, an admin may do everything. A person in
# several groups gets the highest; precedence orders them as Cognito documents it
# (https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-user-pools-user-groups.html).
locals {
  staff_groups = {
    admins    = { precedence = 1, description = "Everything, including deletes and other custodial actions" }
    uploaders = { precedence = 2, description = "Read, download and upload files" }
    readers   = { precedence = 3, description = "Read and download files and messages" }
  }
}

resource "aws_cognito_user_group" "staff" {
  for_each = local.staff_groups

  name         = each.key
  user_pool_id = aws_cognito_user_pool.staff.id
  description  = each.value.description
  precedence   = each.value.precedence
}
