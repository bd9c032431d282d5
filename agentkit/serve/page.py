"""The approval page: a server-rendered HTML page to see and decide pending calls.

No script runs on it and no front-end build exists: plain HTML forms. Every string a
model, a tool or a user wrote is HTML-escaped and shown through `printable` (so bidi
controls and zero-width characters appear as escapes, never reorder the page); the
Content-Security-Policy allows no script, no frame and forms only to this origin; each
form carries the session's CSRF token, checked on every POST; the session cookie is
HttpOnly and SameSite=Strict. Log in by pasting an API token once: the page keeps a
session id, never the token.
"""

from __future__ import annotations

import html
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from agentkit.decision import Principal
from agentkit.state import PendingApproval, RunResult
from agentkit.terminal import printable

SESSION_COOKIE = "agentkit_session"
SESSION_SECONDS = 8 * 3600
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    # same-origin, not no-referrer: with no-referrer a browser posts forms with Origin: null
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
RECENT_STEPS = 8
PREVIEW = 400


@dataclass(frozen=True)
class Session:
    principal: Principal
    csrf: str
    expires: float


class Sessions:
    """Page sessions in memory: id -> principal and CSRF token (a restart logs out)."""

    def __init__(self) -> None:
        self._by_id: dict[str, Session] = {}

    def open(self, principal: Principal) -> str:
        now = time.time()
        for stale in [k for k, v in self._by_id.items() if v.expires < now]:
            del self._by_id[stale]  # sessions nobody comes back to do not pile up
        sid = secrets.token_urlsafe(32)
        self._by_id[sid] = Session(
            principal, secrets.token_urlsafe(32), time.time() + SESSION_SECONDS
        )
        return sid

    def get(self, sid: str | None) -> Session | None:
        found = self._by_id.get(sid or "")
        if found is None or found.expires < time.time():
            self._by_id.pop(sid or "", None)
            return None
        return found

    def close(self, sid: str | None) -> None:
        self._by_id.pop(sid or "", None)


def text(value: object) -> str:
    """Any value as inert HTML text."""
    return html.escape(printable(str(value)), quote=True)


def redacted(value: Any) -> Any:
    """`value` as the audit would show it: no page carries what the audit redacts."""
    from agentkit.audit.redact import Redactor

    return Redactor().redact({"value": value}, include_prompts=True)["value"]


def login_page(message: str = "") -> str:
    note = f'<p class="note">{text(message)}</p>' if message else ""
    return _layout(
        "Sign in",
        f"""{note}
<form method="post" action="/page/login">
  <label>API token <input type="password" name="token" autocomplete="off" required></label>
  <button type="submit">Sign in</button>
</form>""",
    )


def approvals_page(
    session: Session,
    shown: list[tuple[PendingApproval, RunResult]],
    decided: list[tuple[str, str, str]],
    message: str = "",
) -> str:
    """The caller's pending approvals, with each call's arguments, rule, reason and the
    run's recent steps; `decided` lists (approval, verdict, run status) of this session."""
    who = session.principal
    parts = [
        f"<p>Signed in as <b>{text(who.user_id)}</b> "
        f"({text(', '.join(who.roles) or 'no roles')}).</p>"
    ]
    if message:
        parts.append(f'<p class="note" id="message">{text(message)}</p>')
    if not shown:
        parts.append('<p id="empty">Nothing waits for you.</p>')
    for pending, run in shown:
        parts.append(_approval(pending, run, session.csrf))
    if decided:
        rows = "".join(
            f"<tr><td>{text(a)}</td><td>{text(v)}</td><td class='status'>{text(s)}</td></tr>"
            for a, v, s in decided
        )
        parts.append(
            f'<h2>Decided here</h2><table id="decided"><tr><th>approval</th><th>verdict</th>'
            f"<th>run</th></tr>{rows}</table>"
        )
    parts.append(
        f'<form method="post" action="/page/logout"><input type="hidden" name="csrf" '
        f'value="{text(session.csrf)}"><button type="submit">Sign out</button></form>'
    )
    return _layout("Approvals", "\n".join(parts))


def _approval(pending: PendingApproval, run: RunResult, csrf: str) -> str:
    need = pending.approvers
    who = "anyone" if need.roles is None else ", ".join(need.roles)
    arguments = json.dumps(
        redacted(pending.arguments), indent=2, ensure_ascii=False, sort_keys=True
    )
    steps = "".join(_step(step) for step in run.steps[-RECENT_STEPS:])
    aid = text(pending.approval_id)
    return f"""<section class="approval" id="{aid}">
  <h2>{text(pending.tool)}
    <small>for {text(run.principal.user_id)} · run {text(run.run_id[:12])}</small></h2>
  <p>Rule <code>{text(pending.rule)}</code>: {text(pending.reason)}</p>
  <p>May decide: {text(who)}; {need.required} approval(s) needed; requester
     {"may" if need.self_approval else "may not"} approve ({text(need.rule)}).</p>
  <pre class="arguments">{text(arguments)}</pre>
  <details open><summary>The run so far</summary><ol>{steps}</ol></details>
  <form method="post" action="/page/approvals/{aid}">
    <input type="hidden" name="csrf" value="{text(csrf)}">
    <button type="submit" name="verdict" value="approve">Approve</button>
    <button type="submit" name="verdict" value="deny">Deny</button>
  </form>
</section>"""


def _step(step: Any) -> str:
    label = " (untrusted)" if step.untrusted else ""
    output = "" if step.output is None else str(redacted(str(step.output)))[:PREVIEW]
    return (
        f"<li><code>{text(step.tool)}</code> {text(step.status)}{text(label)}"
        f"<pre class='output'>{text(output)}</pre></li>"
    )


def _layout(title: str, body: str) -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>agentkit · {text(title)}</title>
<style>
body {{ font: 15px/1.4 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; }}
pre {{ background: #f4f4f4; padding: .5rem; white-space: pre-wrap; }}
.approval {{ border: 1px solid #ccc; padding: 0 1rem 1rem; margin: 1rem 0; }}
.note {{ background: #fffbe6; padding: .5rem; }}
</style></head>
<body><h1>{text(title)}</h1>
{body}
</body></html>"""
