"""A real IMAP server for tests and benchmarks: Dovecot on 127.0.0.1, started as a foreground
process with a configuration of its own in a temporary folder (one passwd-file user, a maildir,
TLS from the first byte with a certificate from a test CA).

Tests that need it use the `imap` fixture, which skips with the reason when Dovecot is not
installed, unless TEST_IMAP_REQUIRED=1 (CI), where that is a failure.
"""

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tests.smtp_server import free_port

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"

CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
default_internal_user = {internal}
default_internal_group = {internal_group}
default_login_user = {internal}
first_valid_uid = {uid}
last_valid_uid = {uid}
first_valid_gid = {gid}
mail_location = maildir:{root}/mail/%u
mail_uid = {uid}
mail_gid = {gid}
ssl = required
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
auth_mechanisms = plain
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {root}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
"""


def available() -> bool:
    return os.path.exists(DOVECOT)


class IMAPServer:
    def __init__(self, ca, user: str = "bounces", password: str = "bounce-secret"):
        self.ca = ca
        self.user = user
        self.password = password
        self.port = free_port()
        self.root: Path | None = None
        self.process: subprocess.Popen | None = None

    def start(self) -> "IMAPServer":
        self.root = Path(tempfile.mkdtemp(prefix="imap-"))
        root = self.root
        if os.getuid() == 0:  # Dovecot refuses mail as root: an unprivileged owner
            owner = pwd.getpwnam("nobody")
            internal = "dovecot" if _exists("dovecot") else "nobody"
        else:
            owner = pwd.getpwuid(os.getuid())
            internal = owner.pw_name
        internal_entry = pwd.getpwnam(internal)
        for name in ("run", "state", "mail", "home"):
            (root / name).mkdir()
        cert = self.ca.issue_cert("127.0.0.1", "localhost")
        cert.private_key_pem.write_to_path(str(root / "key.pem"))
        cert.cert_chain_pems[0].write_to_path(str(root / "cert.pem"))
        (root / "users").write_text(f"{self.user}:{self.password}\n")
        (root / "dovecot.conf").write_text(CONFIG.format(
            root=root, port=self.port, uid=owner.pw_uid, gid=owner.pw_gid, internal=internal,
            internal_group=_group_name(internal_entry.pw_gid)))
        if os.getuid() == 0:
            for name in ("mail", "home"):
                os.chown(root / name, owner.pw_uid, owner.pw_gid)
            os.chmod(root, 0o755)
        self.process = subprocess.Popen([DOVECOT, "-F", "-c", str(root / "dovecot.conf")],
                                        stdout=subprocess.DEVNULL,
                                        stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("Dovecot did not start: " + self._log())
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("Dovecot did not listen: " + self._log())

    def _log(self) -> str:
        parts = []
        log = self.root / "dovecot.log" if self.root else None
        if log and log.exists():
            parts.append(log.read_text(errors="replace")[-3000:])
        return "\n".join(parts)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        if self.root:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None


def _exists(user: str) -> bool:
    try:
        pwd.getpwnam(user)
    except KeyError:
        return False
    return True


def _group_name(gid: int) -> str:
    import grp

    return grp.getgrgid(gid).gr_name
