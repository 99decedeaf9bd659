"""A TCP forwarder between the app and its database, to fail the network on purpose.

`pause()` stops forwarding without closing anything: both ends keep an open connection on
which nothing arrives, as behind a partition that drops packets silently (a blackhole); new
connections are accepted and hang the same way. `cut()` closes both ends of every connection,
as a reset does, and with `refuse=True` closes new ones at once. `restore()` forwards again.
"""

import select
import socket
import threading
import time


class TCPProxy:
    def __init__(self, host: str, port: int):
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.paused = False
        self.refusing = False
        self.closed = False
        self.connections: list[tuple[socket.socket, socket.socket]] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True, name="tcp-proxy").start()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.refusing:
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self.lock:
                self.connections.append((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while not self.closed:
                if self.paused:  # the bytes wait in the kernel's buffers: nothing arrives
                    time.sleep(0.05)
                    continue
                ready, _, _ = select.select([source], [], [], 0.1)
                if not ready or self.paused:
                    continue
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except (OSError, ValueError):
            pass
        finally:
            self._close(source, sink)

    @staticmethod
    def _close(*sockets: socket.socket) -> None:
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def pause(self) -> None:
        """Blackhole: stop forwarding, close nothing."""
        self.paused = True

    def cut(self, refuse: bool = False) -> None:
        """Close both ends of every connection (and, if `refuse`, every new one at once)."""
        self.refusing = refuse
        with self.lock:
            connections, self.connections = self.connections, []
        for pair in connections:
            self._close(*pair)
        self.paused = False

    def restore(self) -> None:
        self.refusing = False
        self.paused = False

    def url(self, database_url: str) -> str:
        """`database_url` with its host and port replaced by this proxy's."""
        import sqlalchemy as sa

        url = sa.engine.make_url(database_url).set(host="127.0.0.1", port=self.port)
        return url.render_as_string(hide_password=False)

    def close(self) -> None:
        self.closed = True
        self.cut(refuse=True)
        self.listener.close()
