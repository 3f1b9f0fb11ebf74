"""TLS, mutual TLS (certificates made here with ``cryptography``), bearer tokens, and what reaches the logs."""

from __future__ import annotations

import datetime
import io
import ipaddress
import json
import logging
from pathlib import Path
from typing import Any, Iterator

import grpc
import pytest

from slot.client import RetryPolicy, SlotClient, SlotClientError, Unauthenticated, Unavailable
from slot.v1 import slot_pb2
from tests.hardening.conftest import RESTAURANT, TEXT, health_status, load_bench, start_server

pytestmark = pytest.mark.model

NO_RETRY = RetryPolicy(attempts=1)
TOKEN = "tok-9c1e5f0a7b3d4e2f8a6b1c0d9e8f7a6b"
SECRET_TEXT = "Zanzibar Quokka 7f3a91 is a pub in the city centre near the Old Mill."


# -- certificates -------------------------------------------------------------------------------------------

def _name(common_name: str) -> Any:
    from cryptography.x509.oid import NameOID
    from cryptography import x509

    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _key() -> Any:
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(ec.SECP256R1())


def _pem_key(key: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _pem_cert(cert: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return cert.public_bytes(serialization.Encoding.PEM)


def make_ca(common_name: str) -> tuple[Any, Any]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    key = _key()
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(_name(common_name)).issuer_name(_name(common_name))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    return key, cert


def make_leaf(ca_key: Any, ca_cert: Any, common_name: str, *, server: bool) -> tuple[Any, Any]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import ExtendedKeyUsageOID

    key = _key()
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(_name(common_name)).issuer_name(ca_cert.subject)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH if server
                                                     else ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False))
    if server:
        builder = builder.add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
    return key, builder.sign(ca_key, hashes.SHA256())


class Certs:
    def __init__(self, directory: Path) -> None:
        ca_key, ca = make_ca("SLOT test CA")
        rogue_key, rogue_ca = make_ca("Rogue CA")
        server_key, server = make_leaf(ca_key, ca, "slot-server", server=True)
        client_key, client = make_leaf(ca_key, ca, "slot-client", server=False)
        rogue_client_key, rogue_client = make_leaf(rogue_key, rogue_ca, "rogue-client", server=False)
        self.ca = _pem_cert(ca)
        self.rogue_ca = _pem_cert(rogue_ca)
        self.client_key, self.client_cert = _pem_key(client_key), _pem_cert(client)
        self.rogue_key, self.rogue_cert = _pem_key(rogue_client_key), _pem_cert(rogue_client)
        self.dir = directory
        for name, data in (("ca.pem", self.ca), ("server.pem", _pem_cert(server)), ("server.key", _pem_key(server_key))):
            (directory / name).write_bytes(data)
        (directory / "server.key").chmod(0o600)

    def path(self, name: str) -> str:
        return str(self.dir / name)


@pytest.fixture(scope="module")
def certs(tmp_path_factory) -> Certs:
    return Certs(tmp_path_factory.mktemp("certs"))


def _tls_ok(target: str, **kwargs: Any) -> None:
    with SlotClient(target, timeout=60, retry=NO_RETRY, tls=True, **kwargs) as client:
        assert client.server_info().version
        result = client.structure(TEXT, RESTAURANT, max_tokens=8)
        assert result.finish_reason in ("stop", "length")


def _tls_refused(target: str, **kwargs: Any) -> SlotClientError:
    with SlotClient(target, timeout=10, retry=NO_RETRY, **kwargs) as client:
        with pytest.raises(SlotClientError) as caught:
            client.server_info()
    assert caught.value.code == grpc.StatusCode.UNAVAILABLE, caught.value
    return caught.value


# -- TLS ----------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tls_server(settings, structurer, certs) -> Iterator[Any]:
    running = start_server(settings, structurer, tls_cert_file=certs.path("server.pem"),
                           tls_key_file=certs.path("server.key"))
    yield running
    running.stop()


def test_tls_serves_clients_that_trust_the_ca(tls_server, certs):
    _tls_ok(tls_server.target, root_certificates=certs.ca)
    creds = grpc.ssl_channel_credentials(root_certificates=certs.ca)
    assert health_status(tls_server.target, credentials=creds) == "SERVING"


def test_tls_refuses_plaintext_and_untrusted_clients(tls_server, certs):
    _tls_refused(tls_server.target)  # plaintext
    _tls_refused(tls_server.target, tls=True, root_certificates=certs.rogue_ca)  # does not trust the server
    _tls_ok(tls_server.target, root_certificates=certs.ca)  # still serving


# -- mutual TLS ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def mtls_server(settings, structurer, certs) -> Iterator[Any]:
    running = start_server(settings, structurer, tls_cert_file=certs.path("server.pem"),
                           tls_key_file=certs.path("server.key"), tls_client_ca_file=certs.path("ca.pem"))
    yield running
    running.stop()


def test_mtls_accepts_a_client_certificate_from_the_ca(mtls_server, certs):
    _tls_ok(mtls_server.target, root_certificates=certs.ca, private_key=certs.client_key,
            certificate_chain=certs.client_cert)


def test_mtls_refuses_a_client_without_a_certificate(mtls_server, certs):
    _tls_refused(mtls_server.target, tls=True, root_certificates=certs.ca)
    _tls_refused(mtls_server.target)


def test_mtls_refuses_a_certificate_from_another_ca(mtls_server, certs):
    _tls_refused(mtls_server.target, tls=True, root_certificates=certs.ca, private_key=certs.rogue_key,
                 certificate_chain=certs.rogue_cert)
    _tls_ok(mtls_server.target, root_certificates=certs.ca, private_key=certs.client_key,
            certificate_chain=certs.client_cert)


def test_mtls_health_needs_the_client_certificate_too(mtls_server, certs):
    good = grpc.ssl_channel_credentials(root_certificates=certs.ca, private_key=certs.client_key,
                                        certificate_chain=certs.client_cert)
    assert health_status(mtls_server.target, credentials=good) == "SERVING"
    with pytest.raises(grpc.RpcError):
        health_status(mtls_server.target, credentials=grpc.ssl_channel_credentials(root_certificates=certs.ca))


# -- bearer token -------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def token_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("secret") / "token"
    path.write_text(TOKEN + "\n", encoding="utf-8")
    path.chmod(0o600)
    return path


@pytest.fixture(scope="module")
def token_server(settings, structurer, token_file) -> Iterator[Any]:
    running = start_server(settings, structurer, auth_token_file=str(token_file))
    yield running
    running.stop()


@pytest.mark.parametrize("token", [None, "", "wrong", TOKEN[:-1], TOKEN + "x", TOKEN.upper(), " " + TOKEN])
def test_token_missing_or_wrong_is_unauthenticated(token_server, token):
    with SlotClient(token_server.target, token=token, retry=NO_RETRY, timeout=10) as client:
        for call in (lambda: client.structure(TEXT, RESTAURANT, max_tokens=4), client.server_info,
                     lambda: client.validate_schema(RESTAURANT),
                     lambda: list(client.structure_stream(TEXT, RESTAURANT, max_tokens=4))):
            with pytest.raises(Unauthenticated) as caught:
                call()
            assert "bearer token" in str(caught.value)
            assert TOKEN not in str(caught.value) and (not token or token not in str(caught.value))


@pytest.mark.parametrize("header", [f"Basic {TOKEN}", TOKEN, f"Bearer{TOKEN}", f"Token {TOKEN}"])
def test_other_schemes_are_unauthenticated(token_server, header):
    with grpc.insecure_channel(token_server.target) as channel:
        with pytest.raises(grpc.RpcError) as caught:
            channel.unary_unary("/slot.v1.Slot/GetServerInfo")(
                slot_pb2.GetServerInfoRequest().SerializeToString(), metadata=(("authorization", header),), timeout=10)
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_token_right_is_ok(token_server):
    with SlotClient(token_server.target, token=TOKEN, retry=NO_RETRY, timeout=60) as client:
        assert client.server_info().version
        assert client.structure(TEXT, RESTAURANT, max_tokens=8).finish_reason in ("stop", "length")
    with grpc.insecure_channel(token_server.target) as channel:  # the scheme is case-insensitive
        reply = channel.unary_unary("/slot.v1.Slot/GetServerInfo")(
            slot_pb2.GetServerInfoRequest().SerializeToString(), metadata=(("authorization", f"bearer {TOKEN}"),),
            timeout=10)
    assert reply


def test_undecodable_request_is_unauthenticated_before_it_is_invalid(token_server):
    """The token check comes first: corrupt bytes without the token tell the caller nothing more."""
    with grpc.insecure_channel(token_server.target) as channel:
        call = channel.unary_unary("/slot.v1.Slot/Structure")
        for metadata, code in (((), grpc.StatusCode.UNAUTHENTICATED),
                               ((("authorization", f"Bearer {TOKEN}"),), grpc.StatusCode.INVALID_ARGUMENT)):
            with pytest.raises(grpc.RpcError) as caught:
                call(b"\xff\xff\xff\xff", metadata=metadata, timeout=10)
            assert caught.value.code() == code, caught.value.details()


def test_health_and_reflection_are_exempt(token_server):
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

    assert health_status(token_server.target) == "SERVING"
    with grpc.insecure_channel(token_server.target) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        replies = stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]),
                                            timeout=10)
        names = {s.name for r in replies for s in r.list_services_response.service}
    assert "slot.v1.Slot" in names


def test_token_over_mtls(settings, structurer, certs, token_file):
    running = start_server(settings, structurer, auth_token_file=str(token_file),
                           tls_cert_file=certs.path("server.pem"), tls_key_file=certs.path("server.key"),
                           tls_client_ca_file=certs.path("ca.pem"))
    try:
        tls = {"tls": True, "root_certificates": certs.ca, "private_key": certs.client_key,
               "certificate_chain": certs.client_cert}
        with SlotClient(running.target, retry=NO_RETRY, timeout=10, **tls) as client:
            with pytest.raises(Unauthenticated):
                client.server_info()
        with SlotClient(running.target, token=TOKEN, retry=NO_RETRY, timeout=10, **tls) as client:
            assert client.server_info().version
    finally:
        running.stop()


# -- logs ---------------------------------------------------------------------------------------------------

class Captured:
    """Everything logged by any logger (DEBUG and up), formatted by the server's JsonFormatter."""

    def __init__(self) -> None:
        from slot.server.app import JsonFormatter

        self.stream = io.StringIO()
        self.handler = logging.StreamHandler(self.stream)
        self.handler.setFormatter(JsonFormatter())
        self.handler.setLevel(logging.DEBUG)
        self.root = logging.getLogger()
        self.level = self.root.level

    def __enter__(self) -> "Captured":
        self.root.addHandler(self.handler)
        self.root.setLevel(logging.DEBUG)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.root.removeHandler(self.handler)
        self.root.setLevel(self.level)

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def events(self, name: str) -> list[dict[str, Any]]:
        found = []
        for line in self.text.splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("event") == name:
                found.append(entry)
        return found


def _traffic(target: str, token: str | None) -> str:
    """A success, a stream, a refused schema and a wrong token, all carrying the secret text; returns the output."""
    with SlotClient(target, token=token, retry=NO_RETRY, timeout=60) as client:
        result = client.structure(SECRET_TEXT, RESTAURANT, max_tokens=48, request_id="log-check-1")
        list(client.structure_stream(SECRET_TEXT, RESTAURANT, max_tokens=8))
        with pytest.raises(SlotClientError):
            client.structure(SECRET_TEXT, {"type": "strin"})
    with SlotClient(target, token="not-the-token", retry=NO_RETRY, timeout=10) as client:
        with pytest.raises(Unauthenticated):
            client.structure(SECRET_TEXT, RESTAURANT)
    return result.output


def test_token_and_text_never_logged_by_default(settings, structurer, token_file):
    assert settings.log_payloads is False  # the default
    with Captured() as logs:
        running = start_server(settings, structurer, auth_token_file=str(token_file))
        try:
            output = _traffic(running.target, TOKEN)
        finally:
            running.stop()
    events = logs.events("structure")
    assert events and events[0]["request_id"] == "log-check-1"  # the capture works
    assert TOKEN not in logs.text
    for fragment in ("Zanzibar", "Quokka", "7f3a91"):
        assert fragment not in logs.text
    value = json.loads(output) if output else {}
    for leaf in value.values():  # the generated JSON is not logged either
        if isinstance(leaf, str) and len(leaf) > 5:
            assert json.dumps(leaf)[1:-1] not in logs.text, leaf


def test_text_and_output_logged_when_log_payloads_is_on(settings, structurer, token_file):
    with Captured() as logs:
        running = start_server(settings, structurer, auth_token_file=str(token_file), log_payloads=True)
        try:
            _traffic(running.target, TOKEN)
        finally:
            running.stop()
    events = logs.events("structure")
    assert events and events[0]["text"] == SECRET_TEXT and "output" in events[0]
    assert TOKEN not in logs.text  # the token: never, even in debug mode


def test_real_cli_logs_carry_no_token_or_text(token_file, tmp_path):
    """The real ``slot serve`` process at DEBUG level: its stderr has neither the token nor the text."""
    bench = load_bench()
    server = bench.ServerProcess(auth_token_file=str(token_file), log_level="DEBUG", log_path=tmp_path / "serve.log")
    server.start()
    try:
        with SlotClient(server.target, token=TOKEN, retry=NO_RETRY, timeout=60) as client:
            client.structure(SECRET_TEXT, RESTAURANT, max_tokens=16, request_id="cli-log-check")
        with SlotClient(server.target, token="nope", retry=NO_RETRY, timeout=10) as client:
            with pytest.raises(Unauthenticated):
                client.structure(SECRET_TEXT, RESTAURANT)
    finally:
        server.stop()
    log = server.log_text()
    assert '"request_id": "cli-log-check"' in log and '"event": "stopped"' in log
    assert TOKEN not in log
    assert "Zanzibar" not in log and "7f3a91" not in log


def test_unavailable_is_what_an_unreachable_server_gives(certs):
    """The SDK maps a refused connection to Unavailable (the error it retries)."""
    bench = load_bench()
    with SlotClient(f"127.0.0.1:{bench.free_port()}", retry=NO_RETRY, timeout=5) as client:
        with pytest.raises(Unavailable):
            client.server_info()
