"""The last guard of an account email's link, on the rendered HTML: only a link to the platform
may carry it, and nothing may be loaded from outside."""

import pytest

from webapp.services import html_policy

BASE = "https://missive.example.org"
SECRET = f"{BASE}/auth/reset/eyJ1c2VyIjo0Mn0.Zx9-abcDEF_123456"


@pytest.mark.parametrize("url,platform", [
    (f"{BASE}/auth/reset/x", True),
    (f" \t{BASE}/auth/\nreset/x", True),
    (BASE.upper() + "/x", True),
    (f"{BASE}@evil.example/x", False),
    (f"{BASE}.evil.example/x", False),
    (f"{BASE}:8443/x", False),
    ("https:\\\\evil.example/x", False),
    ("//missive.example.org/x", False),
    ("http://missive.example.org/x", False),
    ("/auth/reset/x", False),
    ("javascript:alert(1)", False),
])
def test_only_the_platform_is_the_platform(url, platform):
    assert html_policy.is_platform_url(url, BASE) is platform


def test_a_base_url_with_a_path_is_a_prefix_of_whole_segments():
    assert html_policy.is_platform_url("https://h.example/app/auth/x", "https://h.example/app")
    assert not html_policy.is_platform_url("https://h.example/apple/x", "https://h.example/app")


def test_the_guard_keeps_the_platform_link_and_drops_every_other_carrier():
    html = (f'<p><a href="{SECRET}">{SECRET}</a></p>'
            f'<p><a href="https://evil.example/?l={SECRET}">Choose</a></p>'
            f'<img src="https://evil.example/p.png" alt="">'
            f'<img src="{BASE}/logo.png" alt="logo">'
            f'<p style="color: red; background-color: url(https://evil.example/p)">x</p>'
            f'<p title="{SECRET}">https://evil.example/?l={SECRET}</p>'
            f'<p>token alone: eyJ1c2VyIjo0Mn0.Zx9-abcDEF_123456</p>')
    guarded = html_policy.guard_secrets(html, BASE, [SECRET])
    assert f'<a href="{SECRET}">{SECRET}</a>' in guarded
    assert "https://evil.example/?l=" + SECRET not in guarded
    assert "evil.example/p" not in guarded and f'src="{BASE}/logo.png"' in guarded
    assert f'title="{SECRET}"' not in guarded
    assert f"https://evil.example/?l= {SECRET}" in guarded  # apart: no address carries it
    assert "token alone: </p>" in guarded
    assert ">Choose</a>" in guarded  # the outside link's text stays, without the link


def test_without_a_secret_the_html_is_left_as_it_is():
    html = '<p><img src="https://example.org/a.png"></p>'
    assert html_policy.guard_secrets(html, BASE, []) == html
