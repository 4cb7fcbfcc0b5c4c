"""The http probe against a real local HTTPS server with a self-signed certificate: verification,
``insecure = true``, expected status codes and request headers."""

import datetime
import ipaddress
import os
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def _self_signed(tmp_path) -> tuple[str, str]:
    """A certificate for 127.0.0.1 signed by its own key: (certificate file, key file)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return str(cert_file), str(key_file)


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/empty":
            status = 204
        elif self.path == "/secure":
            status = 200 if self.headers.get("Authorization") == "Bearer s3cret" else 401
        else:
            status = 200
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def https_port(tmp_path):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*_self_signed(tmp_path))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    # The handshake in each connection's thread, not in accept(): done there, one after another,
    # a slow one held up every other probe (a probe failed with "no answer" on a loaded machine).
    server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_https_status_and_headers(supervisor, https_port):
    base = f"https://127.0.0.1:{https_port}"
    failing = 'restart = "never"'
    sup = supervisor(
        f"""
    version = 1
    [services.verified]
    command = ["sleep", "60"]
    ready = {{ http = "{base}/", timeout = "5s" }}
    {failing}
    [services.insecure]
    command = ["sleep", "60"]
    ready = {{ http = {{ url = "{base}/", insecure = true }} }}
    [services.no-content]
    command = ["sleep", "60"]
    ready = {{ http = {{ url = "{base}/empty", status = [204], insecure = true }} }}
    [services.wrong-status]
    command = ["sleep", "60"]
    ready = {{ http = {{ url = "{base}/", status = [204], insecure = true }}, timeout = "1s" }}
    {failing}
    [services.signed-in]
    command = ["sleep", "60"]
    ready = {{ http = {{ url = "{base}/secure", headers = {{ Authorization = "Bearer ${{TOKEN}}" }}, insecure = true }} }}
    [services.anonymous]
    command = ["sleep", "60"]
    ready = {{ http = {{ url = "{base}/secure", insecure = true }}, timeout = "1s" }}
    {failing}
    """,
        env={**os.environ, "TOKEN": "s3cret"},
    )
    for unit in ("insecure", "no-content", "signed-in"):
        assert sup.wait_event(unit, "ready")["message"].startswith(f"http {base}/")
    assert "CERTIFICATE_VERIFY_FAILED" in sup.wait_event("verified", "failed")["message"]
    assert sup.wait_event("wrong-status", "failed")["message"].endswith("HTTP 200 OK, expected 204")
    assert sup.wait_event("anonymous", "failed")["message"].endswith(
        "HTTP 401 Unauthorized, expected a 2xx or 3xx status"
    )
    assert sup.stop() == 0
