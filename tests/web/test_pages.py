"""The pages' shared rules: security headers, CSRF on every form, HTML errors, sign-in."""

from __future__ import annotations

from pages_support import csrf_token, post_form, sign_in_customer

PAGE_CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
            "frame-ancestors 'none'; base-uri 'none'")


def test_pages_carry_a_strict_policy_and_the_api_keeps_its_own(client):
    page = client.get("/account/sign-in")
    assert page.status_code == 200
    assert page.mimetype == "text/html"
    assert page.headers["Content-Security-Policy"] == PAGE_CSP
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "<script" not in page.get_data(as_text=True)
    assert 'style="' not in page.get_data(as_text=True)
    api = client.get("/v1/keys")
    assert api.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"


def test_the_stylesheet_is_served_to_pages(client):
    with client.get("/assets/tessera.css") as css:
        assert css.status_code == 200
        assert css.mimetype == "text/css"
        assert ":focus-visible" in css.get_data(as_text=True)


def test_every_input_has_a_label(client):
    html = client.get("/account/sign-in").get_data(as_text=True)
    for name in ("username", "password"):
        assert f'<label for="{name}">' in html
        assert f'id="{name}"' in html


def test_a_page_redirects_strangers_to_sign_in(client):
    assert client.get("/account/").headers["Location"].endswith("/account/sign-in")
    assert client.get("/console/").headers["Location"].endswith("/console/sign-in")


def test_customer_signs_in_with_a_fresh_cookie_and_signs_out(client, world):
    world.setup()
    before = client.get("/account/sign-in")
    old_token = csrf_token(before.get_data(as_text=True))
    answer = sign_in_customer(client, "alice", world.password)
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/account/")
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    page = client.get("/account/")
    assert page.status_code == 200 and "alice" in page.get_data(as_text=True)
    # The session was rotated: the token of the form before sign-in is no longer valid.
    stale = client.post("/account/sign-out", data={"csrf_token": old_token})
    assert stale.status_code == 400
    assert client.get("/account/").status_code == 200
    with client.session_transaction() as cookie:
        token = cookie["customer_token"]
    signed_out = post_form(client, "/account/", "/account/sign-out", {})
    assert signed_out.status_code == 302
    assert client.get("/account/").status_code == 302
    # The server-side session is over too: a copy of the old cookie opens nothing.
    assert client.get("/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_a_wrong_password_is_refused_on_the_form(client, world):
    world.setup()
    answer = sign_in_customer(client, "alice", "not the password")
    assert answer.status_code == 401
    assert "Unknown username or wrong password." in answer.get_data(as_text=True)
    assert client.get("/account/").status_code == 302


def test_a_post_without_the_csrf_token_is_refused(client, world):
    world.setup()
    answer = client.post("/account/sign-in",
                         data={"username": "alice", "password": world.password})
    assert answer.status_code == 400
    assert answer.mimetype == "text/html"
    assert client.get("/account/").status_code == 302


def test_the_json_api_needs_no_csrf_token(client, world):
    world.setup()
    answer = client.post("/v1/session", json=world.credentials())
    assert answer.status_code == 201
