"""The approval page's routes: sign in with a token, see, approve or deny, sign out."""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from agentkit.decision import Principal
from agentkit.errors import ApprovalRefused
from agentkit.serve import page
from agentkit.serve.hub import RunHub
from agentkit.serve.tokens import Authenticator, Unauthenticated
from agentkit.serve.visibility import find_approval, visible_pending

if TYPE_CHECKING:
    from agentkit.approval_store import ApprovalStore

Decider = Callable[[Principal, str, bool], Awaitable[dict[str, Any] | None]]
MAX_FORM_BYTES = 8 * 1024
_MESSAGES = {
    "approved": "Approved. The run continues once nothing else of it waits.",
    "denied": "Denied. The run continues without that call.",
    "waiting": "Your approval is recorded; the call needs another approver.",
    "refused": "You may not decide that call.",
    "gone": "That call is not waiting for you.",
}


def add_page(
    app: FastAPI,
    hub: RunHub,
    store: ApprovalStore,
    authenticator: Authenticator,
    decide_as: Decider,
) -> None:
    """Mount the approval page under ``/page``."""
    sessions = page.Sessions()
    decided: dict[str, list[tuple[str, str, str]]] = {}  # session -> (approval, verdict, run)

    def html(body: str, status: int = 200) -> HTMLResponse:
        return HTMLResponse(body, status_code=status, headers=page.SECURITY_HEADERS)

    def back(code: str) -> Response:
        return RedirectResponse(f"/page?m={code}", status_code=303, headers=page.SECURITY_HEADERS)

    @app.get("/page", include_in_schema=False)
    async def show(request: Request, m: str = "") -> HTMLResponse:
        sid = request.cookies.get(page.SESSION_COOKIE)
        session = sessions.get(sid)
        if session is None:
            return html(page.login_page())
        rows = await asyncio.to_thread(store.approvals, "pending")
        shown = []
        for row in rows:
            pending = await visible_pending(store, row, session.principal)
            if pending is not None:
                shown.append((pending, await asyncio.to_thread(store.load, pending.run_id)))
        done = [
            (approval, verdict, _status(hub, run_id))
            for approval, verdict, run_id in decided.get(sid or "", [])
        ]
        return html(page.approvals_page(session, shown, done, _MESSAGES.get(m, "")))

    @app.post("/page/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        form = await _form(request)
        if form is None:
            return html(page.login_page("Sign-in refused."), 403)
        try:
            bearer = "Bearer " + form.get("token", "").strip()
            principal = authenticator.authenticate({"authorization": bearer})
        except Unauthenticated:
            return html(page.login_page("Unknown or revoked token."), 401)
        response = RedirectResponse("/page", status_code=303, headers=page.SECURITY_HEADERS)
        response.set_cookie(
            page.SESSION_COOKIE,
            sessions.open(principal),
            max_age=page.SESSION_SECONDS,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/page",
        )
        return response

    @app.post("/page/logout", include_in_schema=False)
    async def logout(request: Request) -> Response:
        sid = request.cookies.get(page.SESSION_COOKIE)
        session, form = sessions.get(sid), await _form(request)
        if session is None or form is None or not _csrf_ok(session, form):
            return html(page.login_page("Sign-out refused."), 403)
        sessions.close(sid)
        decided.pop(sid or "", None)
        response = RedirectResponse("/page", status_code=303, headers=page.SECURITY_HEADERS)
        response.delete_cookie(page.SESSION_COOKIE, path="/page")
        return response

    @app.post("/page/approvals/{approval_id}", include_in_schema=False)
    async def decide(request: Request, approval_id: str) -> Response:
        sid = request.cookies.get(page.SESSION_COOKIE)
        session, form = sessions.get(sid), await _form(request)
        if session is None:
            return html(page.login_page("Sign in first."), 401)
        if form is None or not _csrf_ok(session, form):
            return html(page.login_page("That form did not come from this page."), 403)
        verdict = form.get("verdict")
        if verdict not in ("approve", "deny"):
            return back("gone")
        row = await find_approval(store, approval_id)
        if row is None or await visible_pending(store, row, session.principal) is None:
            return back("gone")
        try:
            outcome = await decide_as(session.principal, approval_id, verdict == "approve")
        except ApprovalRefused:
            return back("refused")
        if outcome is None:
            return back("gone")
        decided.setdefault(sid or "", []).append(
            (approval_id, str(outcome["verdict"]), str(outcome["run_id"]))
        )
        code = {"approved": "approved", "denied": "denied"}.get(str(outcome["verdict"]), "waiting")
        return back(code)


async def _form(request: Request) -> dict[str, str] | None:
    """The posted form, or None when it is too large, not a form, or from another origin."""
    origin = request.headers.get("origin")
    if origin is not None and origin != "null":
        if urlsplit(origin).netloc != request.headers.get("host", ""):
            return None
    elif origin == "null":
        return None
    length = request.headers.get("content-length", "")
    if not length.isdigit() or int(length) > MAX_FORM_BYTES:
        return None
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return None
    body = (await request.body()).decode("utf-8", "replace")
    return {key: values[0] for key, values in parse_qs(body, max_num_fields=8).items()}


def _csrf_ok(session: page.Session, form: dict[str, str]) -> bool:
    return hmac.compare_digest(form.get("csrf", ""), session.csrf)


def _status(hub: RunHub, run_id: str) -> str:
    hosted = hub.get(run_id)
    if hosted is None:
        return "unknown"
    if not hosted.finished:
        return "running"
    return hosted.state.status if hosted.state is not None else "unknown"
