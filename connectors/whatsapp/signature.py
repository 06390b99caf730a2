"""Which URL Twilio signed, and whether `X-Twilio-Signature` matches it.

Twilio signs the URL it called, i.e. the PUBLIC one. Behind a proxy or tunnel the URL the request
reached differs (scheme, host, a path prefix), and validating against it rejects every message; so the
public base comes from the `webhook_public_url` setting, or else from `X-Forwarded-Proto` /
`X-Forwarded-Host` / `Host`. The path (and query) are the request's own.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

from twilio.request_validator import RequestValidator


def _first(value: Optional[str]) -> str:
    """The client-most value of a possibly comma-joined forwarded header."""
    return (value or "").split(",")[0].strip()


def public_base_url(
    configured: str,
    headers: Mapping[str, str],
    scheme: str,
) -> str:
    """`scheme://host[:port][/prefix]` of the server as Twilio sees it, without a trailing slash.

    `headers` must be case-insensitive (Sanic's are) or use lower-case keys.
    """
    if configured:
        return configured.rstrip("/")
    proto = _first(headers.get("x-forwarded-proto")) or scheme or "http"
    host = _first(headers.get("x-forwarded-host")) or _first(headers.get("host")) or "localhost"
    return f"{proto.lower()}://{host}"


def signed_url(base_url: str, path: str, query_string: str = "") -> str:
    """The full URL Twilio signed: public base + request path (+ `?query`)."""
    url = base_url.rstrip("/") + "/" + path.lstrip("/")
    return f"{url}?{query_string}" if query_string else url


def signature_valid(auth_token: str, url: str, params: Any, signature: Optional[str]) -> bool:
    """Twilio's own check (with and without the default port); a missing signature is invalid."""
    if not signature:
        return False
    return RequestValidator(auth_token).validate(url, params or {}, signature)
