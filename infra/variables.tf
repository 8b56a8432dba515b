################################################################################
# Naming and placement
################################################################################

variable "name_prefix" {
  description = "Prefix of every resource name (bucket, table, functions, rule set). Lower case, so it is valid in an S3 bucket name."
  type        = string
  default     = "mailroom"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,22}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-24 characters of a-z, 0-9 and '-', starting with a letter and not ending with '-'."
  }
}

variable "region" {
  description = "AWS region to deploy to. It must be one where SES receives email (for example us-east-1, us-west-2, eu-west-1); the mx_record output points at that region's inbound endpoint."
  type        = string
  default     = "eu-west-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as eu-west-1."
  }
}

variable "tags" {
  description = "Tags added to every resource, on top of the default Project, Stack and ManagedBy tags."
  type        = map(string)
  default     = {}
}

################################################################################
# Mail
################################################################################

variable "mail_domain" {
  description = "Domain that receives the submissions (its MX record must point at SES). SES verifies it and signs for it with DKIM."
  type        = string

  validation {
    condition     = can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$", var.mail_domain))
    error_message = "mail_domain must be a lower-case domain name such as docs.example.com."
  }
}

variable "submission_addresses" {
  description = "Recipient addresses the receipt rule accepts, all in mail_domain. Plus-addressing works on top of them: submit+case-42@domain is delivered to submit@domain and tags the files with case-42."
  type        = list(string)

  validation {
    condition     = length(var.submission_addresses) > 0 && length(var.submission_addresses) <= 100
    error_message = "submission_addresses must list between 1 and 100 addresses (the SES limit per rule)."
  }

  validation {
    condition = alltrue([
      for a in var.submission_addresses : can(regex("^[a-z0-9._%-]+@([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$", a))
    ])
    error_message = "Each submission address must be a lower-case address without a +tag, such as submit@docs.example.com."
  }
}

variable "route53_zone_id" {
  description = "Optional Route 53 hosted zone of mail_domain. When set, the MX record, the SES verification TXT record and the DKIM CNAME records are created in it; when null, publish them yourself (see the outputs)."
  type        = string
  default     = null

  validation {
    condition     = var.route53_zone_id == null || can(regex("^[A-Z0-9]{1,32}$", var.route53_zone_id))
    error_message = "route53_zone_id must be a hosted zone id (upper-case letters and digits) such as Z0123456789ABCDEFGHIJ."
  }
}

variable "allowed_sender_domains" {
  description = "Sender domains whose mail is extracted; mail from any other domain is recorded as rejected (the raw message is kept). Empty means anyone may send."
  type        = list(string)
  default     = []

  validation {
    condition = alltrue([
      for d in var.allowed_sender_domains : can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$", d))
    ])
    error_message = "Each allowed sender domain must be a lower-case domain name such as example.com."
  }
}

variable "trusted_forwarders" {
  description = "Staff domains (firm.example, which admits its subdomains) or addresses (reception@firm.example) whose forwards vouch for the original sender when the forwarder is authenticated: such an original sender is `vouched` and found by a search by sender. Empty: forwarded senders are only `verified` (their own DKIM holds) or `claimed`."
  type        = list(string)
  default     = []

  validation {
    condition = alltrue([
      for f in var.trusted_forwarders : can(regex("^([a-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$", f))
    ])
    error_message = "Each trusted forwarder must be a lower-case domain name (firm.example) or email address (reception@firm.example)."
  }
}

variable "extraction_limits" {
  description = "Caps on one message's MIME tree (nesting depth, number of parts, decoded bytes) and on each archive opened (files, decompressed bytes, decompressed-to-compressed ratio, archives within archives); signature_repeats: how often an inline image must already have come from one sender domain to be a signature. What a cap stops becomes a warning on the message record."
  type = object({
    max_depth           = optional(number, 32)
    max_parts           = optional(number, 2000)
    max_total_bytes     = optional(number, 268435456)
    max_archive_members = optional(number, 500)
    max_archive_bytes   = optional(number, 104857600)
    max_archive_ratio   = optional(number, 100)
    max_archive_depth   = optional(number, 2)
    signature_repeats   = optional(number, 1)
  })
  default = {}

  validation {
    condition     = alltrue([for v in values(var.extraction_limits) : v >= 1 && floor(v) == v])
    error_message = "Every extraction limit must be a whole number, at least 1."
  }
}

variable "expand_archives" {
  description = "Open zip archives and Outlook .msg items attached to mail: their files become records whose parent is the container (kept too). false keeps every container closed. Reaches the functions as MAILROOM_EXPAND_ARCHIVES."
  type        = bool
  default     = true
}

variable "keep_body" {
  description = "Also store each message's text body as a file with role body (hidden from the default listing). Reaches the functions as MAILROOM_KEEP_BODY."
  type        = bool
  default     = false
}

variable "virus_policy" {
  description = "What extract_attachments does with SES's virus verdict: strict (the default) quarantines every message whose verdict is not PASS (GRAY and PROCESSING_FAILED included); fail_only quarantines only a FAIL. Reaches the function as MAILROOM_VIRUS_POLICY."
  type        = string
  default     = "strict"

  validation {
    condition     = contains(["strict", "fail_only"], var.virus_policy)
    error_message = "virus_policy must be strict or fail_only."
  }
}

variable "spam_policy" {
  description = "What extract_attachments does with a spam verdict of FAIL: record (keep it on the message record only), tag (the default: also flag the message and its files) or quarantine. Reaches the function as MAILROOM_SPAM_POLICY."
  type        = string
  default     = "tag"

  validation {
    condition     = contains(["record", "tag", "quarantine"], var.spam_policy)
    error_message = "spam_policy must be record, tag or quarantine."
  }
}

################################################################################
# Storage
################################################################################

variable "raw_retention_days" {
  description = "Days after which a raw message under raw/ expires. raw/ is what a failed message is reprocessed from and the evidence of what was received, so null (the default) keeps it; a number must exceed raw_transition_days. Overwritten versions still expire after noncurrent_version_retention_days."
  type        = number
  default     = null

  validation {
    condition     = var.raw_retention_days == null || try(var.raw_retention_days >= 1 && floor(var.raw_retention_days) == var.raw_retention_days && var.raw_retention_days > var.raw_transition_days, false)
    error_message = "raw_retention_days must be null (keep) or a whole number of days greater than raw_transition_days."
  }
}

variable "object_lock" {
  description = "Enable S3 Object Lock on the document bucket, with no default retention (SES refuses a bucket whose Object Lock has a default retention), so `mailroom hold --case` can put legal holds on a case's object versions (issue 22). IRREVERSIBLE: once enabled, Object Lock can never be turned off and versioning never suspended; setting this back to false only forgets the setting. Works on an existing bucket holding objects (docs/DEPLOY.md, Legal hold)."
  type        = bool
  default     = false
}

variable "document_retention_days" {
  description = "Days after which a document under incoming/ expires (a lifecycle rule: its current version becomes noncurrent behind a delete marker, then goes after noncurrent_version_retention_days). null (the default) keeps documents. A version under legal hold is never removed: S3 does not let lifecycle delete a locked version (docs/DEPLOY.md, Legal hold and retention)."
  type        = number
  default     = null

  validation {
    condition     = var.document_retention_days == null || try(var.document_retention_days >= 1 && var.document_retention_days <= 36500 && floor(var.document_retention_days) == var.document_retention_days, false)
    error_message = "document_retention_days must be null (keep) or a whole number of days from 1 to 36500."
  }
}

variable "probe_expiry_days" {
  description = "Days a probe (the stack's own `mailroom smoke` and canary mail, recognised only from mail_domain with DKIM and DMARC PASS) is kept: its objects carry the tag mailroom-probe=true, which a lifecycle rule expires after as many days, and its records a DynamoDB TTL (expires_at) two days later (so `mailroom doctor` never meets an object without its record). Reaches the functions as MAILROOM_PROBE_EXPIRY_DAYS."
  type        = number
  default     = 2

  validation {
    condition     = var.probe_expiry_days >= 1 && var.probe_expiry_days <= 365 && floor(var.probe_expiry_days) == var.probe_expiry_days
    error_message = "probe_expiry_days must be a whole number of days from 1 to 365."
  }
}

variable "raw_transition_days" {
  description = "Days after which a raw message moves to raw_transition_storage_class (S3 requires at least 30 for STANDARD_IA and ONEZONE_IA)."
  type        = number
  default     = 30

  validation {
    condition     = var.raw_transition_days >= 1 && floor(var.raw_transition_days) == var.raw_transition_days
    error_message = "raw_transition_days must be a whole number of days, at least 1."
  }
}

variable "raw_transition_storage_class" {
  description = "Cheaper storage class raw messages move to after raw_transition_days. GLACIER_IR (the default) keeps them readable in milliseconds, so reprocessing works unchanged; GLACIER and DEEP_ARCHIVE would need a restore first and are not offered."
  type        = string
  default     = "GLACIER_IR"

  validation {
    condition     = contains(["STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER_IR"], var.raw_transition_storage_class)
    error_message = "raw_transition_storage_class must be STANDARD_IA, ONEZONE_IA, INTELLIGENT_TIERING or GLACIER_IR (classes read without a restore)."
  }

  # S3 refuses a lifecycle transition to STANDARD_IA or ONEZONE_IA before 30 days (S3 User
  # Guide, "Transitioning objects using Amazon S3 Lifecycle", constraints).
  validation {
    condition     = !contains(["STANDARD_IA", "ONEZONE_IA"], var.raw_transition_storage_class) || var.raw_transition_days >= 30
    error_message = "raw_transition_storage_class STANDARD_IA or ONEZONE_IA needs raw_transition_days of at least 30 (S3 refuses an earlier transition to them)."
  }
}

variable "noncurrent_version_retention_days" {
  description = "Days an overwritten or deleted object version is kept before it expires (the bucket is versioned)."
  type        = number
  default     = 30

  validation {
    condition     = var.noncurrent_version_retention_days >= 1 && floor(var.noncurrent_version_retention_days) == var.noncurrent_version_retention_days
    error_message = "noncurrent_version_retention_days must be a whole number of days, at least 1."
  }
}

variable "access_log_retention_days" {
  description = "Days the S3 server access logs of the document bucket are kept."
  type        = number
  default     = 365

  validation {
    condition     = var.access_log_retention_days >= 1 && floor(var.access_log_retention_days) == var.access_log_retention_days
    error_message = "access_log_retention_days must be a whole number of days, at least 1."
  }
}

variable "force_destroy" {
  description = "Let `terraform destroy` delete the buckets with their objects and the table despite its deletion protection. Keep false in production. Teardown also needs the bucket, table and key's prevent_destroy lifted by an override file (docs/DEPLOY.md, Tear down); the emulator tests do both."
  type        = bool
  default     = false
}

variable "kms_deletion_window_days" {
  description = "Days a scheduled deletion of the customer-managed key can still be cancelled."
  type        = number
  default     = 30

  validation {
    condition     = var.kms_deletion_window_days >= 7 && var.kms_deletion_window_days <= 30 && floor(var.kms_deletion_window_days) == var.kms_deletion_window_days
    error_message = "kms_deletion_window_days must be a whole number between 7 and 30."
  }
}

################################################################################
# Functions
################################################################################

variable "function_zip" {
  description = "Path of the function package built by `make package`. Null means build/lambda/function.zip of this repository."
  type        = string
  default     = null

  validation {
    condition     = var.function_zip == null || endswith(coalesce(var.function_zip, "x.zip"), ".zip")
    error_message = "function_zip must be the path of a .zip file."
  }
}

variable "layer_zip" {
  description = "Path of the dependency layer built by `make package`. Null means build/lambda/layer.zip of this repository."
  type        = string
  default     = null

  validation {
    condition     = var.layer_zip == null || endswith(coalesce(var.layer_zip, "x.zip"), ".zip")
    error_message = "layer_zip must be the path of a .zip file."
  }
}

variable "powertools_layer_arn" {
  description = "Optional ARN of the public Powertools for AWS Lambda (Python) layer, added after the project's own layer so its Powertools takes precedence. Null (the default) uses only the project's layer, which holds the versions the tests ran."
  type        = string
  default     = null

  validation {
    condition     = var.powertools_layer_arn == null || can(regex("^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:layer:[A-Za-z0-9_-]+:[0-9]+$", var.powertools_layer_arn))
    error_message = "powertools_layer_arn must be a versioned layer ARN (arn:aws:lambda:REGION:ACCOUNT:layer:NAME:VERSION)."
  }
}

variable "lambda_memory_mb" {
  description = "Memory of each function in MB (extract_attachments, record_metadata, api, export_case). extract_attachments holds one message at a time (SES stores up to 40 MB), so it gets more."
  type = object({
    extract_attachments = optional(number, 1024)
    record_metadata     = optional(number, 256)
    api                 = optional(number, 512)
    export_case         = optional(number, 1024) # issue 22: CPU for hashing 1 MB chunks
  })
  default = {}

  validation {
    condition     = alltrue([for m in values(var.lambda_memory_mb) : m >= 128 && m <= 10240 && floor(m) == m])
    error_message = "Lambda memory must be a whole number of MB between 128 and 10240."
  }
}

variable "lambda_timeout_seconds" {
  description = "Timeout of each function in seconds."
  type = object({
    extract_attachments = optional(number, 300)
    record_metadata     = optional(number, 60)
    # API Gateway waits at most 30 s for an HTTP API integration.
    api = optional(number, 29)
    # Issue 22: Lambda's longest; what a case export may take (docs/ARCHITECTURE.md).
    export_case = optional(number, 900)
  })
  default = {}

  validation {
    condition     = alltrue([for t in values(var.lambda_timeout_seconds) : t >= 1 && t <= 900 && floor(t) == t])
    error_message = "Lambda timeouts must be a whole number of seconds between 1 and 900."
  }
}

variable "lambda_reserved_concurrency" {
  description = "Optional reserved concurrency per function (caps its load on the table and the bill; it also guarantees it). None by default: Lambda refuses a reservation that leaves the account fewer than 100 unreserved executions, so a new account (whose quota may be 10 or 50) could not apply any. Set one only after `mailroom preflight` shows the account's quota leaves room (docs/DEPLOY.md)."
  type = object({
    extract_attachments = optional(number)
    record_metadata     = optional(number)
    api                 = optional(number)
    canary              = optional(number)
    export_case         = optional(number)
  })
  default = {}

  validation {
    condition     = alltrue([for c in values(var.lambda_reserved_concurrency) : c == null ? true : c >= 1 && floor(c) == c])
    error_message = "A reserved concurrency must be a whole number, at least 1, or left out (no reservation; 0 would stop the function)."
  }
}

variable "lambda_max_retry_attempts" {
  description = "Retries of a failed asynchronous invocation before the event goes to the function's dead-letter queue."
  type        = number
  default     = 2

  validation {
    condition     = contains([0, 1, 2], var.lambda_max_retry_attempts)
    error_message = "lambda_max_retry_attempts must be 0, 1 or 2."
  }
}

variable "code_signing_config_arn" {
  description = "Optional Lambda code signing configuration to attach to both functions. Null (the default) deploys the zip built by `make package` unsigned; the emulator used in CI has no code signing."
  type        = string
  default     = null

  validation {
    condition     = var.code_signing_config_arn == null || can(regex("^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:code-signing-config:csc-[a-z0-9]+$", var.code_signing_config_arn))
    error_message = "code_signing_config_arn must be a Lambda code signing configuration ARN."
  }
}

variable "log_level" {
  description = "Log level of both functions (Powertools Logger)."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], var.log_level)
    error_message = "log_level must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL."
  }
}

variable "metrics_namespace" {
  description = "CloudWatch namespace of the functions' metrics (messages, files, bytes, quarantined, rejected, failed)."
  type        = string
  default     = "mailroom"

  validation {
    condition     = can(regex("^[A-Za-z0-9_./#:-]{1,255}$", var.metrics_namespace))
    error_message = "metrics_namespace must be 1-255 characters of letters, digits and _ . / # : -."
  }
}

################################################################################
# Operations
################################################################################

variable "log_retention_days" {
  description = "Retention of the functions' log groups, in days (a value CloudWatch Logs accepts)."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653)."
  }
}

variable "alarm_email" {
  description = "Address subscribed to the alarm topic (confirm the subscription from the mail AWS sends). Required unless alarms_without_subscriber = true: an alarm nobody receives protects nothing."
  type        = string
  default     = null

  validation {
    condition     = var.alarm_email == null || can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.alarm_email))
    error_message = "alarm_email must be an email address."
  }

  validation {
    condition     = var.alarm_email != null || var.alarms_without_subscriber
    error_message = "Set alarm_email so the alarms reach a person, or set alarms_without_subscriber = true if you subscribe to the alarm topic (alarm_topic_arn output) another way."
  }
}

variable "alarms_without_subscriber" {
  description = "Deploy without alarm_email on purpose (the alarm topic's subscribers are managed elsewhere, e.g. a chat or paging integration). False (the default) makes alarm_email required."
  type        = bool
  default     = false
}

variable "alarm_ok_notifications" {
  description = "Also notify the alarm topic when an alarm returns to OK. False (the default): only ALARM is sent, so the first apply does not mail one OK per alarm."
  type        = bool
  default     = false
}

variable "async_event_age_alarm_seconds" {
  description = "Alarm when an asynchronous event waited this long before a function ran it (Lambda's AsyncEventAge, maximum over 5 minutes): retries or throttling are piling up. Must stay below the 6-hour maximum event age, after which events go to the dead-letter queue."
  type        = number
  default     = 900

  validation {
    condition     = var.async_event_age_alarm_seconds >= 60 && var.async_event_age_alarm_seconds < 21600 && floor(var.async_event_age_alarm_seconds) == var.async_event_age_alarm_seconds
    error_message = "async_event_age_alarm_seconds must be a whole number of seconds from 60 to 21599."
  }
}

variable "dlq_age_alarm_hours" {
  description = "Alarm when the oldest event in a dead-letter queue is this many hours old: a failure is waiting for a redrive (the queues keep events 14 days)."
  type        = number
  default     = 24

  validation {
    condition     = var.dlq_age_alarm_hours >= 1 && var.dlq_age_alarm_hours <= 240 && floor(var.dlq_age_alarm_hours) == var.dlq_age_alarm_hours
    error_message = "dlq_age_alarm_hours must be a whole number of hours from 1 to 240 (the queues keep events 336 hours)."
  }
}

################################################################################
# Staff API and dashboard
################################################################################

variable "upload_max_bytes" {
  description = "Largest file a staff member may upload through the dashboard, in bytes (the presigned POST's content-length-range). Reaches the api function as MAILROOM_UPLOAD_MAX_BYTES; one POST is at most 5 GiB."
  type        = number
  default     = 52428800

  validation {
    condition     = var.upload_max_bytes >= 1 && var.upload_max_bytes <= 5368709120 && floor(var.upload_max_bytes) == var.upload_max_bytes
    error_message = "upload_max_bytes must be a whole number of bytes from 1 to 5368709120 (5 GiB)."
  }
}

variable "upload_types" {
  description = "Media types the dashboard may upload (type/subtype, lower case). Empty (the default) keeps the api function's own list (functions/mailroom/settings.py, DEFAULT_UPLOAD_TYPES). Reaches the function as MAILROOM_UPLOAD_TYPES."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for t in var.upload_types : can(regex("^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$", t))])
    error_message = "Each upload type must be a lower-case media type such as application/pdf."
  }
}

variable "download_link_seconds" {
  description = "Lifetime of a presigned download link and upload form, in seconds (at most 300). Reaches the api function as MAILROOM_LINK_SECONDS."
  type        = number
  default     = 300

  validation {
    condition     = var.download_link_seconds >= 1 && var.download_link_seconds <= 300 && floor(var.download_link_seconds) == var.download_link_seconds
    error_message = "download_link_seconds must be a whole number of seconds from 1 to 300."
  }
}

variable "cognito_domain_prefix" {
  description = "Prefix of the staff sign-in page (https://PREFIX.auth.REGION.amazoncognito.com), unique in the region. Null (the default) uses NAME_PREFIX-staff-ACCOUNT_ID."
  type        = string
  default     = null

  validation {
    condition     = var.cognito_domain_prefix == null || can(regex("^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$", coalesce(var.cognito_domain_prefix, "x"))) && !can(regex("aws|amazon|cognito", coalesce(var.cognito_domain_prefix, "x")))
    error_message = "cognito_domain_prefix must be 1-63 characters of a-z, 0-9 and '-' (not at either end), without aws, amazon or cognito."
  }
}

variable "staff_mfa" {
  description = "Multi-factor sign-in of staff (an authenticator app, TOTP): ON (the default) makes every staff member set one up at first sign-in; OPTIONAL lets each choose."
  type        = string
  default     = "ON"

  validation {
    condition     = contains(["ON", "OPTIONAL"], var.staff_mfa)
    error_message = "staff_mfa must be ON or OPTIONAL."
  }
}

variable "staff_threat_protection" {
  description = "Cognito threat protection for staff sign-in (compromised credentials, risky sign-ins): OFF (the default), AUDIT (record the risks) or ENFORCED (act on them). AUDIT and ENFORCED put the user pool on Cognito's Plus feature plan, billed per monthly active user."
  type        = string
  default     = "OFF"

  validation {
    condition     = contains(["OFF", "AUDIT", "ENFORCED"], var.staff_threat_protection)
    error_message = "staff_threat_protection must be OFF, AUDIT or ENFORCED."
  }
}

variable "api_throttle" {
  description = "Default throttling of the staff API's stage: requests per second (steady) and burst. Staff use is light; the caps bound the cost of a runaway client."
  type = object({
    rate_limit  = optional(number, 20)
    burst_limit = optional(number, 50)
  })
  default = {}

  validation {
    condition     = alltrue([for v in values(var.api_throttle) : v >= 1 && v <= 10000 && floor(v) == v])
    error_message = "api_throttle values must be whole numbers from 1 to 10000."
  }
}

variable "api_latency_alarm_ms" {
  description = "Alarm when the staff API's p99 latency over 5 minutes exceeds this many milliseconds, in 2 of 3 periods (cold starts alone should not page anyone)."
  type        = number
  default     = 5000

  validation {
    condition     = var.api_latency_alarm_ms >= 100 && var.api_latency_alarm_ms <= 30000 && floor(var.api_latency_alarm_ms) == var.api_latency_alarm_ms
    error_message = "api_latency_alarm_ms must be a whole number of milliseconds from 100 to 30000 (the integration timeout)."
  }
}

variable "dashboard_price_class" {
  description = "CloudFront price class of the dashboard (which edge locations serve it): PriceClass_100 (the default, the cheapest), PriceClass_200 or PriceClass_All."
  type        = string
  default     = "PriceClass_100"

  validation {
    condition     = contains(["PriceClass_100", "PriceClass_200", "PriceClass_All"], var.dashboard_price_class)
    error_message = "dashboard_price_class must be PriceClass_100, PriceClass_200 or PriceClass_All."
  }
}

variable "site_dir" {
  description = "Folder of the dashboard's page files, uploaded to the site bucket as they are. Null (the default) means web/ of this repository; a missing or empty folder uploads only config.json."
  type        = string
  default     = null

  validation {
    condition     = var.site_dir == null || try(trimspace(var.site_dir) != "" && !endswith(var.site_dir, "/"), false)
    error_message = "site_dir must be a folder path without a trailing '/', such as ../web."
  }
}

################################################################################
# Filing, events and receipts (issue 21)
################################################################################

variable "routing_rules" {
  description = "Routing rules: the case and labels a message is filed under by recipient and plus-tag, subject (default patterns [case-{id}], Case #{id}, Ref: {id}) and authenticated sender, plus a default case. Rendered as JSON to the functions' MAILROOM_ROUTING_RULES and validated again at cold start (functions/mailroom/routing.py; `mailroom rules --rules FILE` checks a file offline). Lambda allows 4 KB of environment in all, so keep the rules short."
  type = object({
    subject_patterns = optional(list(string))
    case_format      = optional(string)
    default_case     = optional(string)
    rules = optional(list(object({
      name      = string
      recipient = optional(string)
      tag       = optional(string)
      sender    = optional(string)
      subject   = optional(string)
      case      = optional(string)
      labels    = optional(list(string), [])
    })), [])
  })
  default = {}

  validation {
    condition     = length(jsonencode(var.routing_rules)) <= 2500
    error_message = "routing_rules must render to at most 2500 characters of JSON (Lambda's environment holds 4 KB in all)."
  }

  validation {
    condition = alltrue([
      for p in(var.routing_rules.subject_patterns == null ? [] : var.routing_rules.subject_patterns) : length(p) <= 40 && length(regexall("\\{id\\}", p)) == 1
    ])
    error_message = "Each subject pattern holds exactly one {id} and at most 40 characters, such as \"[case-{id}]\"."
  }

  validation {
    condition = alltrue([
      for r in var.routing_rules.rules : (r.case != null || length(r.labels) > 0) && (r.recipient != null || r.tag != null || r.sender != null || r.subject != null)
    ])
    error_message = "Each routing rule needs a condition (recipient, tag, sender or subject) and sets a case, labels or both."
  }

  validation {
    condition     = length(distinct([for r in var.routing_rules.rules : r.name])) == length(var.routing_rules.rules)
    error_message = "Routing rule names must be unique."
  }
}

variable "notify_email" {
  description = "Optional address told (through SNS, encrypted with the stack key) of every quarantined, failed and needs-filing message, from the outcome events bus. Null: no topic. The address confirms the subscription once."
  type        = string
  default     = null

  validation {
    condition     = var.notify_email == null || can(regex("^[^@\\s]+@[^@\\s]+\\.[a-z]{2,63}$", var.notify_email))
    error_message = "notify_email must be an email address."
  }
}

variable "webhook_url" {
  description = "Optional HTTPS URL that receives every outcome event (POST, JSON) through an EventBridge API destination. Its API key is set outside Terraform after the first apply (docs/DEPLOY.md): the state holds only a placeholder."
  type        = string
  default     = null

  validation {
    condition     = var.webhook_url == null || can(regex("^https://[^\\s/]+(/\\S*)?$", var.webhook_url))
    error_message = "webhook_url must be an https:// URL."
  }
}

variable "receipt_policy" {
  description = "Receipts to senders (RFC 3834, one per message): off (the default), authenticated (recommended: only to senders SES authenticated) or all. Needs receipt_from and SES production access (docs/DEPLOY.md)."
  type        = string
  default     = "off"

  validation {
    condition     = contains(["off", "authenticated", "all"], var.receipt_policy)
    error_message = "receipt_policy must be off, authenticated or all."
  }
}

variable "receipt_from" {
  description = "The address receipts are sent from, on mail_domain (SES verifies the domain). The send grant is conditioned on it. Required unless receipt_policy is off."
  type        = string
  default     = null

  validation {
    condition     = var.receipt_from == null || can(regex("^[a-z0-9._%-]+@([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$", var.receipt_from))
    error_message = "receipt_from must be a lower-case address such as receipts@docs.example.com."
  }
}

variable "receipt_firm_name" {
  description = "The firm's name, shown in every receipt (From display name and signature)."
  type        = string
  default     = "Our office"

  validation {
    condition     = length(var.receipt_firm_name) >= 1 && length(var.receipt_firm_name) <= 200
    error_message = "receipt_firm_name must be 1 to 200 characters."
  }
}

variable "receipt_contact" {
  description = "Optional contact line shown in every receipt, such as \"Questions? Call 01 23 45 67 89\"."
  type        = string
  default     = null

  validation {
    condition     = var.receipt_contact == null || try(length(var.receipt_contact) <= 200, false)
    error_message = "receipt_contact must be at most 200 characters."
  }
}

variable "receipt_rate_per_hour" {
  description = "At most this many receipts per sender address and hour (RFC 3834 rate limit)."
  type        = number
  default     = 5

  validation {
    condition     = var.receipt_rate_per_hour >= 1 && var.receipt_rate_per_hour <= 1000 && floor(var.receipt_rate_per_hour) == var.receipt_rate_per_hour
    error_message = "receipt_rate_per_hour must be a whole number from 1 to 1000."
  }
}

################################################################################
# Mail-flow canary (opt-in)
################################################################################

variable "canary_enabled" {
  description = "Send a canary message to the first submission address every canary_interval_minutes and alarm when one does not arrive: the one alarm that catches MX, domain, rule-set and permission breakage. Off by default (each canary is a sent and a received message; the SES sandbox allows 200 sent a day)."
  type        = bool
  default     = false
}

variable "canary_interval_minutes" {
  description = "Minutes between canaries (96 a day at the default 15)."
  type        = number
  default     = 15

  validation {
    condition     = var.canary_interval_minutes >= 5 && var.canary_interval_minutes <= 1440 && floor(var.canary_interval_minutes) == var.canary_interval_minutes
    error_message = "canary_interval_minutes must be a whole number from 5 to 1440."
  }
}

variable "canary_bound_minutes" {
  description = "A canary counts as delivered when its file record was received within this many minutes of sending; it must be under canary_interval_minutes (the next run checks it)."
  type        = number
  default     = 10

  validation {
    condition     = var.canary_bound_minutes >= 1 && floor(var.canary_bound_minutes) == var.canary_bound_minutes && var.canary_bound_minutes < var.canary_interval_minutes
    error_message = "canary_bound_minutes must be a whole number of minutes, at least 1 and under canary_interval_minutes."
  }
}

variable "audit_retention_days" {
  description = "Days an audit entry (who listed, showed, downloaded, uploaded, deleted, re-filed, released, exported or held what: functions/mailroom/audit.py) is kept; DynamoDB's TTL (expires_at) removes it after, typically within two days. Reaches the functions as MAILROOM_AUDIT_RETENTION_DAYS; local mode uses the same default."
  type        = number
  default     = 365

  validation {
    condition     = var.audit_retention_days >= 1 && var.audit_retention_days <= 3650 && floor(var.audit_retention_days) == var.audit_retention_days
    error_message = "audit_retention_days must be a whole number of days from 1 to 3650."
  }
}

variable "cloudtrail_data_events" {
  description = "Issue 22: a CloudTrail trail with S3 data events (every GetObject, PutObject, DeleteObject) on the document bucket, into its own encrypted log bucket: the record of access that goes around the product (a staff member's direct S3 reads). Off by default: data events are billed per event."
  type        = bool
  default     = false
}
