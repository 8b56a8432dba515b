"""Cognito sign-in (hosted UI, authorization code with PKCE), against a fake user pool.

The page is served from web/ at https://dashboard.test and the user pool's endpoints at
https://auth.test, all answered by Playwright's request routing: nothing listens, nothing
leaves the machine. The fake token endpoint checks what Cognito would: the code_verifier
hashes to the code_challenge the authorize request carried.
"""

from __future__ import annotations

import base64
import hashlib
import json
import mimetypes
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode, urlsplit

from .conftest import ROOT, screenshot

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Route

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture skips (or fails, in CI) and says why
    expect = None

SITE = "https://dashboard.test"
POOL = "https://auth.test"
CLIENT_ID = "dashboard-client"
EMAIL = "clerk@firm.example"
WEB = ROOT / "web"
CSP = f"default-src 'self'; connect-src 'self' {POOL}; object-src 'none'; frame-ancestors 'none'"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def id_token() -> str:
    header = b64url(json.dumps({"alg": "RS256", "kid": "test"}).encode())
    claims = {
        "email": EMAIL,
        "email_verified": True,
        "cognito:groups": ["uploaders"],  # a JSON list in the token (the authorizer's "[...]")
        "aud": CLIENT_ID,
        "token_use": "id",
        "exp": int(time.time()) + 3600,
    }
    return f"{header}.{b64url(json.dumps(claims).encode())}.c2lnbmF0dXJl"


class FakePool:
    """The hosted UI and token endpoint, plus the site and an API that records what it got."""

    def __init__(self) -> None:
        self.token = id_token()
        self.authorize: dict[str, str] = {}
        self.token_requests: list[dict[str, str]] = []
        self.api_authorization: list[str] = []
        self.logouts: list[dict[str, str]] = []

    def site(self, route: Route) -> None:
        path = urlsplit(route.request.url).path
        if path == "/config.json":
            config = {
                "apiUrl": SITE,
                "auth": {
                    "mode": "cognito",
                    "domain": POOL,
                    "clientId": CLIENT_ID,
                    "redirectUri": f"{SITE}/",
                },
            }
            route.fulfill(json=config)
            return
        if path.startswith(("/files", "/messages")):
            self.api_authorization.append(route.request.headers.get("authorization", ""))
            route.fulfill(json={"files": [], "next": None})
            return
        file = (WEB / (path.lstrip("/") or "index.html")).resolve()
        if not file.is_file() or WEB.resolve() not in file.parents:
            route.fulfill(status=404, body="not found")
            return
        kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        if file.suffix == ".js":
            kind = "text/javascript"
        route.fulfill(
            body=file.read_bytes(),
            headers={"content-type": kind, "content-security-policy": CSP},
        )

    def pool(self, route: Route) -> None:
        url = urlsplit(route.request.url)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path == "/oauth2/authorize":
            self.authorize = query
            back = {"code": "the-code", "state": query["state"]}
            route.fulfill(
                status=302, headers={"location": f"{query['redirect_uri']}?{urlencode(back)}"}
            )
        elif url.path == "/oauth2/token":
            form = {k: v[0] for k, v in parse_qs(route.request.post_data or "").items()}
            self.token_requests.append(form)
            challenge = b64url(hashlib.sha256(form.get("code_verifier", "").encode()).digest())
            ok = (
                form.get("grant_type") == "authorization_code"
                and form.get("code") == "the-code"
                and form.get("client_id") == CLIENT_ID
                and form.get("redirect_uri") == f"{SITE}/"
                and challenge == self.authorize.get("code_challenge")
            )
            body: dict[str, Any] = (
                {"id_token": self.token, "access_token": "access", "expires_in": 3600}
                if ok
                else {"error": "invalid_grant"}
            )
            route.fulfill(
                status=200 if ok else 400,
                json=body,
                headers={"access-control-allow-origin": SITE},
            )
        elif url.path == "/logout":
            self.logouts.append(query)
            route.fulfill(status=302, headers={"location": query["logout_uri"]})
        else:
            route.fulfill(status=404, body="not found")


def test_pkce_helpers_match_rfc_7636(browser: Browser) -> None:
    context = browser.new_context()
    fake = FakePool()
    context.route(f"{SITE}/**", fake.site)
    page = context.new_page()
    page.goto(f"{SITE}/")
    result = page.evaluate(
        """async () => {
            const auth = await import("./js/auth.js");
            const verifier = auth.randomVerifier();
            return {
                // RFC 7636, appendix B: this verifier has this S256 challenge.
                challenge: await auth.challengeS256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
                verifier,
                other: auth.randomVerifier(),
                url: await auth.authorizeUrl(
                    { domain: "https://auth.test/", clientId: "c", redirectUri: "https://d.test/" },
                    "v", "s"),
            };
        }"""
    )
    assert result["challenge"] == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    assert len(result["verifier"]) == 43  # 32 random bytes: the least RFC 7636 allows
    assert set(result["verifier"]) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    )
    assert result["verifier"] != result["other"]
    url = urlsplit(result["url"])
    assert (url.scheme, url.netloc, url.path) == ("https", "auth.test", "/oauth2/authorize")
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert query == {
        "response_type": "code",
        "client_id": "c",
        "redirect_uri": "https://d.test/",
        "scope": "openid email",
        "state": "s",
        "code_challenge": b64url(hashlib.sha256(b"v").digest()),
        "code_challenge_method": "S256",
    }
    context.close()


def test_cognito_sign_in_with_pkce_sends_the_id_token(browser: Browser) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    fake = FakePool()
    context.route(f"{SITE}/**", fake.site)
    context.route(f"{POOL}/**", fake.pool)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    page.goto(f"{SITE}/")
    expect(page.locator("#signed-out")).to_be_visible()
    expect(page.locator("#app")).to_be_hidden()
    screenshot(page, "1280-00-sign-in")

    page.click("#sign-in")
    expect(page.locator("#user-name")).to_have_text(EMAIL)
    # The name shows before the first listing is asked for: wait for its answer to render.
    expect(page.locator("#files-body")).to_have_text("No files yet.")
    # The role comes from the ID token's groups: an uploader may upload, not delete.
    expect(page.locator("#user-role")).to_have_text("uploader")
    expect(page.locator("#upload-section")).to_be_visible()
    assert fake.authorize["code_challenge_method"] == "S256"
    assert fake.authorize["client_id"] == CLIENT_ID
    assert len(fake.token_requests) == 1
    assert f"Bearer {fake.token}" in fake.api_authorization  # the ID token: it has `email`
    assert page.url == f"{SITE}/"  # the single-use code is out of the address bar
    stored = page.evaluate("Object.keys(sessionStorage)")
    assert "mailroom.pkce.verifier" not in stored

    page.reload()  # the session survives a reload of this tab, without a new token request
    expect(page.locator("#user-name")).to_have_text(EMAIL)
    assert len(fake.token_requests) == 1

    page.click("#sign-out")
    expect(page.locator("#signed-out")).to_be_visible()
    assert fake.logouts == [{"client_id": CLIENT_ID, "logout_uri": f"{SITE}/"}]

    # A redirect this tab did not start (a forged or replayed code) is refused, not exchanged.
    page.goto(f"{SITE}/?{urlencode({'code': 'stolen', 'state': 'forged'})}")
    expect(page.locator("#error")).to_contain_text("does not match")
    expect(page.locator("#signed-out")).to_be_visible()
    assert len(fake.token_requests) == 1
    assert errors == []
    context.close()
