"""A Cloud Storage stand-in on loopback whose every connection sends at most `rate` bytes per second, for reading
models through the real client library (google-cloud-storage, the one KServe's storage initializer uses).

It answers the two JSON API calls a model download makes: listing a prefix (`GET /storage/v1/b/BUCKET/o?prefix=`)
and reading an object's media (`GET /download/storage/v1/b/BUCKET/o/OBJECT?alt=media`, with `Range`). Objects live
in memory. It binds 127.0.0.1 only, serves until `stop()`, and sleeps to hold each connection to its rate."""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CHUNK = 64 * 1024


class ThrottledGcs:
    def __init__(self, objects: dict[str, bytes], rate: float, bucket: str = "models"):
        self.objects, self.rate, self.bucket = objects, rate, bucket
        self.active = self.most_active = 0
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                url = urllib.parse.urlparse(self.path)
                query = urllib.parse.parse_qs(url.query)
                listing = re.fullmatch(rf"/storage/v1/b/{server.bucket}/o", url.path)
                media = re.fullmatch(rf"/download/storage/v1/b/{server.bucket}/o/(.+)", url.path)
                if listing:
                    prefix = query.get("prefix", [""])[0]
                    items = [
                        {
                            "kind": "storage#object",
                            "bucket": server.bucket,
                            "name": name,
                            "size": str(len(data)),
                            "generation": "1",
                        }
                        for name, data in sorted(server.objects.items())
                        if name.startswith(prefix)
                    ]
                    self._send(
                        200, json.dumps({"kind": "storage#objects", "items": items}).encode(), "application/json"
                    )
                elif media and query.get("alt") == ["media"]:
                    name = urllib.parse.unquote(media[1])
                    if name not in server.objects:
                        self._send(404, b'{"error": {"code": 404}}', "application/json")
                        return
                    data = server.objects[name]
                    wanted = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
                    if wanted:
                        first, last = int(wanted[1]), int(wanted[2] or len(data) - 1)
                        self._send(206, data[first : last + 1], "application/octet-stream",
                                   {"Content-Range": f"bytes {first}-{last}/{len(data)}"})  # fmt: skip
                    else:
                        self._send(200, data, "application/octet-stream")
                else:
                    self._send(404, b"{}", "application/json")

            def _send(self, status: int, body: bytes, kind: str, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                with server._lock:
                    server.active += 1
                    server.most_active = max(server.most_active, server.active)
                try:
                    began = time.monotonic()
                    for offset in range(0, len(body), CHUNK):
                        self.wfile.write(body[offset : offset + CHUNK])
                        ahead = (offset + CHUNK) / server.rate - (time.monotonic() - began)
                        if ahead > 0:
                            time.sleep(ahead)
                finally:
                    with server._lock:
                        server.active -= 1

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def start(self) -> ThrottledGcs:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _client(endpoint: str):
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    return storage.Client(
        project="local", credentials=AnonymousCredentials(), client_options={"api_endpoint": endpoint}
    )


def download_like_kserve(endpoint: str, prefix: str, target) -> float:
    """KServe v0.20's `_download_gcs`: list the prefix, then `download_to_filename` one blob after another."""
    bucket = _client(endpoint).bucket("models")
    began = time.monotonic()
    for blob in bucket.list_blobs(prefix=prefix):
        path = target / blob.name
        path.parent.mkdir(parents=True, exist_ok=True)
        blob.download_to_filename(str(path))
    return time.monotonic() - began


def download_in_parallel(endpoint: str, prefix: str, target, streams: int = 4) -> float:
    """What FUSE's parallel downloads do: several reads at once, one connection each."""
    from concurrent.futures import ThreadPoolExecutor

    blobs = list(_client(endpoint).bucket("models").list_blobs(prefix=prefix))
    began = time.monotonic()

    def fetch(blob):
        path = target / blob.name
        path.parent.mkdir(parents=True, exist_ok=True)
        _client(endpoint).bucket("models").blob(blob.name).download_to_filename(str(path))

    with ThreadPoolExecutor(streams) as pool:
        list(pool.map(fetch, blobs))
    return time.monotonic() - began
