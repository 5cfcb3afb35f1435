# One HTTP API: Tekton's sink and the watcher POST/PUT to ingest's routes, everything else
# (the web page, /v1/runs, /v1/sql, the Tekton Results API) goes to query.
resource "aws_apigatewayv2_api" "runlake" {
  name          = var.name
  protocol_type = "HTTP"
  description   = "runlake ingest and query"
}

resource "aws_cloudwatch_log_group" "api" {
  name              = "/aws/apigateway/${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.runlake.arn
}

resource "aws_apigatewayv2_stage" "default" {
  api_id      = aws_apigatewayv2_api.runlake.id
  name        = "$default"
  auto_deploy = true

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.api.arn
    # No query string here: it may carry ?token=.
    format = jsonencode({
      requestId = "$context.requestId", ip = "$context.identity.sourceIp",
      time      = "$context.requestTime", method = "$context.httpMethod", path = "$context.path",
      status    = "$context.status", bytes = "$context.responseLength",
      latencyMs = "$context.responseLatency", error = "$context.integrationErrorMessage"
    })
  }

  default_route_settings {
    throttling_burst_limit = 500
    throttling_rate_limit  = 200
  }
}

resource "aws_apigatewayv2_integration" "function" {
  for_each               = toset(["ingest", "query"])
  api_id                 = aws_apigatewayv2_api.runlake.id
  integration_type       = "AWS_PROXY"
  integration_uri        = aws_lambda_function.runlake[each.key].invoke_arn
  payload_format_version = "2.0"
  timeout_milliseconds   = 30000
}

locals {
  routes = {
    "POST /"                = "ingest"
    "POST /v1/events"       = "ingest"
    "POST /v1/snapshots"    = "ingest"
    "PUT /v1/logs/{proxy+}" = "ingest"
    "$default"              = "query"
  }
}

resource "aws_apigatewayv2_route" "runlake" {
  # checkov:skip=CKV_AWS_309:The apps authenticate every request themselves with the tokens in SSM (Tekton's sink is a bare URL, so ingest also takes ?token=, which an API Gateway authorizer cannot express); an authorizer would only duplicate it.
  for_each  = local.routes
  api_id    = aws_apigatewayv2_api.runlake.id
  route_key = each.key
  target    = "integrations/${aws_apigatewayv2_integration.function[each.value].id}"
}

resource "aws_lambda_permission" "api" {
  for_each      = toset(["ingest", "query"])
  statement_id  = "AllowHttpApi"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.runlake[each.key].function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.runlake.execution_arn}/*/*"
}
