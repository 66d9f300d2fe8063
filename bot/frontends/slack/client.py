"""The Slack Web API client: the real slack_sdk WebClient, with retries that Slack needs.

slack_sdk retries only connection errors by default; toilbot also retries
429 (honouring Retry-After) and 5xx answers, with backoff.

Every Web API call is counted (``toilbot_slack_api_calls_total{method, error}``):
``WebClient.api_call`` is wrapped once, on the class, because Bolt makes a new
WebClient for each request it handles and every method call goes through it.
"""

from __future__ import annotations

import functools
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import HttpRequest, HttpResponse, RetryState
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot.frontends.slack.settings import SlackSettings
from bot.platform.metrics import metrics

POST = "chat.postMessage"


class _NoRepost:
    """A post that timed out or met a 5xx may have been made: it is not re-sent blindly
    (that made duplicate job messages); the outbox finds out first (``outbox.deliver``)."""

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if request.url.endswith(POST):
            return False
        return bool(
            super()._can_retry(  # type: ignore[misc]
                state=state, request=request, response=response, error=error
            )
        )


class _ConnectionErrors(_NoRepost, ConnectionErrorRetryHandler):
    pass


class _ServerErrors(_NoRepost, ServerErrorRetryHandler):
    pass


def make_client(settings: SlackSettings) -> WebClient:
    _count_calls()
    return WebClient(
        token=settings.bot_token,
        base_url=settings.api_url,
        timeout=10,
        retry_handlers=[
            _ConnectionErrors(max_retry_count=2),
            RateLimitErrorRetryHandler(max_retry_count=3),  # a 429 was not applied
            _ServerErrors(max_retry_count=2),
        ],
    )


def _count_calls() -> None:
    api_call = WebClient.api_call
    if getattr(api_call, "toilbot_counted", False):
        return

    @functools.wraps(api_call)
    def counted(self: WebClient, api_method: str, **kwargs: Any) -> Any:
        error = "ok"
        try:
            return api_call(self, api_method, **kwargs)
        except SlackApiError as exc:
            error = str(exc.response.get("error") or exc.response.status_code)
            raise
        except Exception as exc:
            error = type(exc).__name__  # not answered: URLError, TimeoutError...
            raise
        finally:
            metrics().slack_calls.labels(api_method, error).inc()

    counted.toilbot_counted = True  # type: ignore[attr-defined]
    WebClient.api_call = counted  # type: ignore[method-assign, assignment]
