"""The approval page in a real headless Chromium (Debian's, driven by Selenium).

Sign in with a token, see the pending call with its exact arguments, approve, watch the
run complete; another person sees nothing of it; hostile tool output renders inert; a
form that did not come from the page is refused.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from agentkit import Agent, ApprovalStore, tool
from agentkit.serve import TokenAuthenticator, TokenStore, create_app
from agentkit.testing import Script, Turn, scripted_client

pytestmark = pytest.mark.slow

POLICY = """
version: 1
roles:
  clerk: {}
  treasurer: {}
tools:
  balance: {side_effect: read, action: allow}
  pay: {side_effect: financial, action: confirm}
approvers:
  - {id: payments, tools: [pay], roles: [treasurer]}
"""
SECRET = "xai-" + "Q" * 48
HOSTILE = (
    '<script>document.title="owned"</script><img src=x onerror="document.title=1">'
    "\u202egnp.exe \u200b " + SECRET
)


class Payments(Agent):
    @tool
    async def balance(self, account: str) -> str:
        """An account's balance."""
        return f"{account}: 100 EUR {HOSTILE}"

    @tool(side_effect="financial")
    async def pay(self, amount: int) -> str:
        """Pay an amount."""
        return f"paid {amount}"


@pytest.fixture
def browser(missing_service: Any) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if chromium is None or driver_path is None:
        missing_service("Chromium and chromedriver (tools/ci/install-chromium.sh)")
    options = webdriver.ChromeOptions()
    options.binary_location = str(chromium)
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(driver_path)), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def site(tmp_path: Path, serve_app: Any) -> Iterator[dict[str, Any]]:
    (tmp_path / "p.yaml").write_text(POLICY)
    script = Script(
        [
            Turn.calls([("balance", {"account": "ops"}), ("pay", {"amount": 70})]),
            Turn.text("Paid 70."),
        ]
    )
    agent = Payments(client=scripted_client(script), policy=tmp_path / "p.yaml", audit=None)
    tokens = TokenStore(tmp_path / "tokens.db")
    app = create_app(
        agent,
        store=ApprovalStore(tmp_path / "approvals.db"),
        authenticator=TokenAuthenticator(tokens),
    )
    people = {
        "ana": tokens.create("ana", ("clerk",), "acme"),
        "lee": tokens.create("lee", ("treasurer",), "acme"),
        "kim": tokens.create("kim", ("clerk",), "acme"),
        "eve": tokens.create("eve", ("treasurer",), "evil"),
    }
    with serve_app(app) as base:
        started = httpx2.post(
            base + "/v1/runs",
            json={"prompt": "pay 70"},
            headers={"Authorization": f"Bearer {people['ana']}"},
        )
        run_id = started.json()["run_id"]
        httpx2.get(  # the stream ends when the run pauses
            f"{base}/v1/runs/{run_id}/events",
            headers={"Authorization": f"Bearer {people['ana']}"},
            timeout=30,
        )
        yield {"base": base, "tokens": people, "run_id": run_id}


def sign_in(browser: Any, base: str, token: str) -> None:
    from selenium.webdriver.common.by import By

    browser.delete_all_cookies()
    browser.get(base + "/page")
    browser.find_element(By.NAME, "token").send_keys(token)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(browser, "agentkit · Approvals")


def wait_for(browser: Any, title: str, element: str | None = None) -> None:
    """Until the page that a click navigated to has loaded (clicks do not wait for it)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    waiting = WebDriverWait(browser, 20)
    waiting.until(ec.title_is(title))
    if element is not None:
        waiting.until(ec.presence_of_element_located((By.ID, element)))


def test_approve_in_the_browser_and_watch_the_run_complete(
    browser: Any, site: dict[str, Any]
) -> None:
    from selenium.webdriver.common.by import By

    sign_in(browser, site["base"], site["tokens"]["lee"])
    [section] = browser.find_elements(By.CSS_SELECTOR, "section.approval")
    assert '"amount": 70' in section.find_element(By.CSS_SELECTOR, "pre.arguments").text
    assert "payments" in section.text  # the approvers rule that lets lee decide
    source = browser.page_source
    assert browser.find_elements(By.TAG_NAME, "script") == []  # the tool's script is text
    assert browser.find_elements(By.TAG_NAME, "img") == []
    assert browser.title == "agentkit · Approvals"  # nothing ran
    assert "&lt;script&gt;" in source
    assert "\u202e" not in source  # the bidi override is shown escaped
    assert SECRET not in source  # redacted like the audit

    section.find_element(By.CSS_SELECTOR, "button[value=approve]").click()
    wait_for(browser, "agentkit · Approvals", "message")
    assert "Approved" in browser.find_element(By.ID, "message").text
    deadline = time.monotonic() + 20
    status = ""
    while time.monotonic() < deadline:
        status = browser.find_element(By.CSS_SELECTOR, "#decided td.status").text
        if status == "completed":
            break
        time.sleep(0.2)
        browser.get(site["base"] + "/page")
    assert status == "completed"


@pytest.mark.parametrize("who", ["eve", "kim"])
def test_other_people_see_nothing_of_it(browser: Any, site: dict[str, Any], who: str) -> None:
    from selenium.webdriver.common.by import By

    sign_in(browser, site["base"], site["tokens"][who])
    assert browser.find_element(By.ID, "empty").text == "Nothing waits for you."
    assert site["run_id"][:12] not in browser.page_source


def test_a_form_from_elsewhere_is_refused(site: dict[str, Any]) -> None:
    base = site["base"]
    signed = httpx2.post(
        base + "/page/login",
        data={"token": site["tokens"]["lee"]},
        follow_redirects=False,
    )
    assert signed.status_code == 303
    cookie = signed.cookies.get("agentkit_session")
    assert cookie
    assert "HttpOnly" in signed.headers["set-cookie"]
    assert "SameSite=strict" in signed.headers["set-cookie"]
    page = httpx2.get(base + "/page", cookies={"agentkit_session": cookie})
    assert "script-src" not in page.headers["content-security-policy"]  # no script at all
    assert "default-src 'none'" in page.headers["content-security-policy"]
    approval = page.text.split('section class="approval" id="', 1)[1].split('"', 1)[0]
    forged = httpx2.post(
        f"{base}/page/approvals/{approval}",
        data={"verdict": "approve", "csrf": "guessed"},
        cookies={"agentkit_session": cookie},
    )
    assert forged.status_code == 403
    other_origin = httpx2.post(
        f"{base}/page/approvals/{approval}",
        data={"verdict": "approve", "csrf": "x"},
        cookies={"agentkit_session": cookie},
        headers={"Origin": "https://evil.example"},
    )
    assert other_origin.status_code == 403
    unsigned = httpx2.post(f"{base}/page/approvals/{approval}", data={"verdict": "approve"})
    assert unsigned.status_code == 401
    still = httpx2.get(base + "/page", cookies={"agentkit_session": cookie})
    assert approval in still.text  # nothing was decided
