"""Certificates and keys of the local stack: per user of them, one CA and one certificate per identity.

The local cluster (``var/k8s/pki``): every component authenticates with a client certificate
(etcd's clients and peers too), every server presents one, so nothing in the cluster accepts an
anonymous request. SeaweedFS (``var/s3-pki``): its master, volume and filer talk to each other
over mutual TLS, so only its S3 gateway (which checks S3 keys) serves anyone else. Generated once
per checkout (keys 0600), never committed; deleted by ``make clean``.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALIDITY = dt.timedelta(days=365)
# The `kubernetes` Service's address in the cluster's service range (which nothing routes to).
SERVICE_RANGE = "198.18.0.0/24"
KUBERNETES_SERVICE_IP = "198.18.0.1"


@dataclass(frozen=True)
class Identity:
    """A certificate to issue: who it names, what it may be used for."""

    name: str  # file stem under pki/
    common_name: str
    organization: str | None = None
    server: bool = False
    client: bool = False
    dns_names: tuple[str, ...] = ()
    ip_addresses: tuple[str, ...] = ()


def identities(node_name: str) -> tuple[Identity, ...]:
    loopback = ("127.0.0.1",)
    return (
        Identity("etcd", "etcd", server=True, client=True, dns_names=("localhost",), ip_addresses=loopback),
        Identity("apiserver-etcd-client", "kube-apiserver-etcd-client", client=True),
        Identity(
            "apiserver",
            "kube-apiserver",
            server=True,
            dns_names=(
                "localhost",
                "kubernetes",
                "kubernetes.default",
                "kubernetes.default.svc",
                "kubernetes.default.svc.cluster.local",
            ),
            ip_addresses=(*loopback, KUBERNETES_SERVICE_IP),
        ),
        # The API server calls the kubelet (logs, exec) as this identity.
        Identity("apiserver-kubelet-client", "kube-apiserver-kubelet-client", "system:masters", client=True),
        Identity("admin", "markets-ops-admin", "system:masters", client=True),
        # Both also serve their health and metrics endpoints on 127.0.0.1 with these.
        Identity(
            "controller-manager",
            "system:kube-controller-manager",
            server=True,
            client=True,
            ip_addresses=loopback,
        ),
        Identity("scheduler", "system:kube-scheduler", server=True, client=True, ip_addresses=loopback),
        # NodeRestriction admits the kubelet's writes only for its own node and pods.
        Identity("kubelet-client", f"system:node:{node_name}", "system:nodes", client=True),
        # The API server reaches the kubelet by its hostname, which resolves to 127.0.0.1.
        Identity(
            "kubelet", f"system:node:{node_name}", server=True, dns_names=(node_name,), ip_addresses=loopback
        ),
    )


def ensure(pki_dir: Path, node_name: str) -> None:
    """The cluster's CA, service-account signing key and every identity's certificate that is missing."""
    ensure_identities(pki_dir, identities(node_name), "markets-ops local cluster CA")
    if not (pki_dir / "service-account.key").exists():
        # Service-account tokens are signed RS256, the one algorithm every client verifies.
        sa_key = rsa.generate_private_key(65537, 2048)
        _write_key(pki_dir / "service-account.key", sa_key)
        (pki_dir / "service-account.pub").write_bytes(
            sa_key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )


def ensure_identities(pki_dir: Path, wanted: tuple[Identity, ...], ca_name: str) -> None:
    """Create the CA (``ca.crt``, ``ca.key``) and each wanted identity's ``<name>.crt`` and
    ``<name>.key`` that are missing, in a folder only the owner can enter."""
    pki_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(pki_dir, 0o700)
    ca_key_path, ca_cert_path = pki_dir / "ca.key", pki_dir / "ca.crt"
    if not ca_cert_path.exists():
        ca_key = ec.generate_private_key(ec.SECP256R1())
        _write_key(ca_key_path, ca_key)
        ca_cert_path.write_bytes(_self_signed_ca(ca_key, ca_name).public_bytes(serialization.Encoding.PEM))
    ca_key = _load_ec_key(ca_key_path)
    ca_cert = x509.load_pem_x509_certificate(ca_cert_path.read_bytes())
    for identity in wanted:
        if not (pki_dir / f"{identity.name}.crt").exists():
            key = ec.generate_private_key(ec.SECP256R1())
            _write_key(pki_dir / f"{identity.name}.key", key)
            cert = _issue(identity, key, ca_key, ca_cert)
            (pki_dir / f"{identity.name}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _load_ec_key(path: Path) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{path} is not the EC key this module writes: delete its folder to regenerate")
    return key


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> None:
    path.touch(mode=0o600)
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )


def _self_signed_ca(key: ec.EllipticCurvePrivateKey, common_name: str) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


def _issue(
    identity: Identity,
    key: ec.EllipticCurvePrivateKey,
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
) -> x509.Certificate:
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, identity.common_name)]
    if identity.organization:
        # Kubernetes reads a client certificate's O as its groups.
        attributes.insert(0, x509.NameAttribute(NameOID.ORGANIZATION_NAME, identity.organization))
    usages = [ExtendedKeyUsageOID.SERVER_AUTH] * identity.server + [
        ExtendedKeyUsageOID.CLIENT_AUTH
    ] * identity.client
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name(attributes))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
    )
    names: list[x509.GeneralName] = [x509.DNSName(name) for name in identity.dns_names]
    names += [x509.IPAddress(ipaddress.ip_address(address)) for address in identity.ip_addresses]
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(ca_key, hashes.SHA256())
