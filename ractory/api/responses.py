"""Responses that carry a secret: never cached, never compressed."""

from __future__ import annotations

from rest_framework.response import Response


class SecretResponse(Response):
    """A response whose body carries a secret: a token pair, a new API key, a webhook secret.

    ``Cache-Control: no-store`` keeps every cache (browser, proxy, CDN) from keeping a copy.
    Anything that treats these responses differently (no compression, because of BREACH) tests
    ``carries_secret``.
    """

    carries_secret = True

    def __init__(self, data=None, status=None, headers=None, **kwargs):
        super().__init__(data, status=status, headers={**(headers or {}), "Cache-Control": "no-store"}, **kwargs)
