"""The installed package runs: a wheel built from a fresh clone (no compiled catalogue), installed
into a new virtual environment outside the checkout, serves French pages with their CSS and
htmx, and upgrades its database with the migrations it carries."""

import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
import venv

import pytest

from webapp import ROOT

pytestmark = pytest.mark.slow
WAIT_SECONDS = 60
# What a fresh clone holds: git keeps neither the compiled catalogue nor local state.
NOT_IN_A_CLONE = shutil.ignore_patterns(
    ".venv", ".git", "instance", "__pycache__", "*.mo", "build", "dist", "*.egg-info",
    ".pytest_cache", ".ruff_cache", "tests", "bench")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str) -> tuple[int, str, str]:
    request = urllib.request.Request(url, headers={"Accept-Language": "fr"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.headers.get("Content-Type", ""), \
            response.read().decode()


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A virtual environment holding only the built wheel; the test environment's packages
    (Flask and the rest) are visible as plain path entries, so nothing is downloaded."""
    tmp = tmp_path_factory.mktemp("wheel")
    clone = tmp / "clone"
    shutil.copytree(ROOT, clone, ignore=NOT_IN_A_CLONE)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "--quiet", "-w", str(tmp / "dist"), str(clone)], check=True, cwd=tmp)
    wheel = next((tmp / "dist").glob("missive-*.whl"))
    env_dir = tmp / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
                    "--quiet", str(wheel)], check=True, cwd=tmp)
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          check=True, capture_output=True, text=True).stdout.strip()
    # A plain path line: the test environment's own .pth files (the editable checkout) are not
    # processed, so `webapp` can only come from the wheel.
    with open(os.path.join(site, "zz_test_dependencies.pth"), "w") as pth:
        pth.write(sysconfig.get_path("purelib") + "\n")
    shutil.rmtree(clone)
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("FLASK_", "MISSIVE_"))}
    return python, tmp, env


def test_the_wheel_carries_the_app_and_not_the_checkout(installed):
    python, tmp, env = installed
    where = subprocess.run([python, "-c", "import webapp, wsgi; print(webapp.__file__)"],
                           cwd=tmp, env=env, check=True, capture_output=True, text=True)
    assert where.stdout.startswith(str(tmp / "venv"))


def test_the_installed_app_upgrades_its_database_and_serves_french_pages(installed):
    python, tmp, env = installed
    flask = [str(python), "-m", "flask", "--app", "wsgi"]
    subprocess.run([*flask, "db", "upgrade"], cwd=tmp, env=env, check=True,
                   capture_output=True)
    port = _free_port()
    with open(tmp / "server.log", "wb") as log:
        server = subprocess.Popen([*flask, "run", "--port", str(port)], cwd=tmp, env=env,
                                  stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            try:
                status, _type, page = _get(f"{base}/auth/login")
                break
            except (urllib.error.URLError, ConnectionError):
                assert server.poll() is None, (tmp / "server.log").read_text()
                assert time.monotonic() < deadline, "the installed app never answered"
                time.sleep(0.1)
        assert status == 200
        assert '<html lang="fr"' in page
        assert "Se connecter" in page and "Sign in" not in page
        for asset, content_type, marker in (
                ("/static/css/app.css", "text/css", "body"),
                ("/static/vendor/htmx-2.0.11.min.js", "javascript", "htmx"),
                ("/static/js/app.js", "javascript", "htmx")):
            assert f'"{asset}"' in page
            status, served_type, body = _get(base + asset)
            assert status == 200 and content_type in served_type and marker in body
    finally:
        server.terminate()
        server.wait(timeout=WAIT_SECONDS)
