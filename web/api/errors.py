"""Errors under /api/v1 as JSON: `{"error": message}`, plus `"fields"` for invalid data.

The app's one error handler (`web/errors.py`) asks `is_api_request()` and hands API
requests here, so routing errors (404, 405) get JSON too, not only errors raised in
API views.
"""

from __future__ import annotations

from flask import current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from engine.errors import EngineError, FormInvalid

PREFIX = "/api/v1"
# Invalid data in a well-formed request; malformed requests (bad JSON, bad headers) are 400.
UNPROCESSABLE = 422
# Sent with every 401 so clients know which credentials to bring (RFC 6750).
BEARER_CHALLENGE = 'Bearer realm="EstateDesk API"'
REASONS = {400: "bad request", 401: "authentication required", 403: "forbidden", 404: "not found",
           405: "method not allowed", 409: "conflict", 413: "request body too large",
           415: "unsupported media type", 422: "invalid data",
           500: "internal error"}


def is_api_request() -> bool:
    return request.path == PREFIX or request.path.startswith(PREFIX + "/")


def json_error(status: int, message: str, fields: dict[str, str] | None = None, headers=None):
    body = {"error": message}
    if fields:
        body["fields"] = fields
    response = jsonify(body)
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    if status == 401:
        response.headers["WWW-Authenticate"] = BEARER_CHALLENGE
    return response


def fields_of(error: FormInvalid) -> dict[str, str]:
    """One message per field, named by its dotted path; form-wide problems under `data`."""
    fields: dict[str, str] = {}
    for item in error.errors:
        fields.setdefault(item.field or "data", item.message)
    return fields


def engine_error(error: EngineError, status: int):
    if isinstance(error, FormInvalid):
        return json_error(UNPROCESSABLE, "the data is invalid", fields_of(error))
    if status >= 500:
        current_app.logger.error("engine error: %s", error)
        return json_error(status, REASONS[500])
    return json_error(status, str(error))


def http_error(error: HTTPException):
    status = error.code or 500
    if status == 413:
        return json_error(status, f"the request body is larger than the {current_app.config['MAX_CONTENT_LENGTH']} "
                                  "bytes the API accepts")
    headers = {k: v for k, v in error.get_headers() if k == "Allow"}
    message = error.description if status < 500 and error.description else REASONS.get(status, "error")
    return json_error(status, message, headers=headers)


def unexpected_error():
    return json_error(500, REASONS[500])
