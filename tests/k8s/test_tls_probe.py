"""The TLS component's exec probe (the kubelet's grpc probe cannot do TLS) really makes the Health/Check call
over TLS with the Secret's ca.crt and the certificate's service name, and fails unless SERVING.

It runs against a small in-process TLS health server (no model needed) with a CA and a server certificate
for slot.slot.svc made here, the layout cert-manager writes into the slot-tls Secret.
"""

from __future__ import annotations

import datetime
import subprocess
import sys
from concurrent import futures
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from k8s_support import Rendered, server_settings, slot_servers
from slot.config import HEALTH_SERVICE_NAME


def _write_certificates(folder: Path, dns_name: str) -> None:
    """ca.crt, tls.crt (for dns_name, signed by the CA) and tls.key, as in a cert-manager Secret."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "slot test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns_name)]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(dns_name)]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    (folder / "ca.crt").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (folder / "tls.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "tls.key").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                       serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))


@pytest.fixture()
def tls_health_server(tmp_path: Path):
    _write_certificates(tmp_path, "slot.slot.svc")
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    credentials = grpc.ssl_server_credentials([((tmp_path / "tls.key").read_bytes(),
                                                (tmp_path / "tls.crt").read_bytes())])
    port = server.add_secure_port("127.0.0.1:0", credentials)
    server.start()
    try:
        yield tmp_path, port, servicer
    finally:
        server.stop(0)


@pytest.mark.parametrize("probe_name", ["startupProbe", "readinessProbe", "livenessProbe"])
def test_tls_exec_probe_checks_health_over_tls(rendered: dict[str, Rendered], tls_health_server,
                                               probe_name: str) -> None:
    folder, port, servicer = tls_health_server
    item = rendered["overlays/production"]
    (_, _, container), = slot_servers(item)
    settings = server_settings(item, container)
    tls_dir = str(Path(settings.tls_cert_file).parent)
    command = container[probe_name]["exec"]["command"]
    assert command[0] == "python"
    script = command[-1]
    assert f"127.0.0.1:{settings.port}" in script and f"{tls_dir}/" in script
    local = [sys.executable, *command[1:-1],
             script.replace(f"127.0.0.1:{settings.port}", f"127.0.0.1:{port}").replace(f"{tls_dir}/", f"{folder}/")]

    def probe() -> subprocess.CompletedProcess[str]:
        return subprocess.run(local, capture_output=True, text=True, timeout=60)

    servicer.set(HEALTH_SERVICE_NAME, health_pb2.HealthCheckResponse.NOT_SERVING)
    assert probe().returncode != 0, "the probe must fail while the server is NOT_SERVING"
    servicer.set(HEALTH_SERVICE_NAME, health_pb2.HealthCheckResponse.SERVING)
    result = probe()
    assert result.returncode == 0, result.stderr[-2000:]
