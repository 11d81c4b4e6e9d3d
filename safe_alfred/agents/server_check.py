"""Is an OpenAI-compatible model server there, and does it serve the model? One quick request.

Asked before the first episode by ``agent=openai`` and ``judge=llm`` runs (``runner/preflight.py``)
and by ``safe-alfred judge --judge llm``, so a server that is down or a misspelt model name ends
in one line instead of hundreds of errored episodes.
"""

from __future__ import annotations

import logging
import os
from functools import cache

from safe_alfred.errors import UserError

TIMEOUT_S = 5.0


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    for known in ("Connection refused", "Name or service not known", "No route to host", "Network is unreachable",
                  "timed out"):
        if known.lower() in text.lower():
            return known.lower()
    return text.splitlines()[0][:160]


@cache
def check_chat_server(base_url: str, model: str | None, what: str, api_key_env: str | None = None,
                      timeout: float = TIMEOUT_S) -> None:
    """``GET BASE_URL/models``: ``UserError`` if it cannot be reached, refuses the key, or lacks ``model``.

    A server without ``/models`` (HTTP 404) is asked once more, with an empty chat request that no
    model answers: a 404 there too means no chat API at that address (a base_url without ``/v1``,
    or a model the server does not know); any other reply passes, and the first real request tells.
    """
    import httpx

    url = str(base_url).rstrip("/") + "/models"
    key = os.environ.get(api_key_env) if api_key_env else None
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    quiet = logging.getLogger("httpx")  # the check's own request is not news on the user's terminal
    was = quiet.disabled
    quiet.disabled = True
    try:
        resp = httpx.get(url, headers=headers, timeout=timeout)
        if resp.status_code == 404:
            chat = httpx.post(str(base_url).rstrip("/") + "/chat/completions", headers=headers, timeout=timeout,
                              json={"model": model or "", "messages": [], "max_tokens": 1})
            if chat.status_code == 404:
                raise UserError(f"{what}: no OpenAI-compatible chat API at {base_url} (HTTP 404 for /models and "
                                f"/chat/completions{' with model ' + repr(model) if model else ''}); check the "
                                "base_url (it usually ends in /v1) and the model name")
    except httpx.TimeoutException:
        raise UserError(f"{what}: the model server at {base_url} did not answer within {timeout:g} s") from None
    except (httpx.HTTPError, OSError, ValueError) as exc:
        raise UserError(f"{what}: cannot reach the model server at {base_url} ({_reason(exc)}); "
                        "start it or set its base_url") from None
    finally:
        quiet.disabled = was
    if resp.status_code in (401, 403):
        hint = f"; set ${api_key_env}" if api_key_env else ""
        raise UserError(f"{what}: the model server at {base_url} refused the request (HTTP {resp.status_code}){hint}")
    if resp.status_code != 200:
        return
    try:
        served = [str(m.get("id")) for m in (resp.json().get("data") or []) if isinstance(m, dict)]
    except (ValueError, AttributeError):
        return
    if model and served and model not in served:
        shown = ", ".join(served[:8]) + (" ..." if len(served) > 8 else "")
        raise UserError(f"{what}: the model server at {base_url} does not serve model {model!r} (it serves: {shown})")
