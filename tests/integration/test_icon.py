"""The icon browsers ask for exists: no 404 in every page's console."""


def test_the_icon_is_served_and_linked(client):
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200
    assert icon.mimetype == "image/vnd.microsoft.icon"
    assert icon.data[:4] == b"\x00\x00\x01\x00"  # an ICO header
    page = client.get("/auth/login").get_data(as_text=True)
    assert 'rel="icon" href="/static/favicon.ico"' in page
    with client.get("/static/favicon.ico") as static:
        assert static.status_code == 200
