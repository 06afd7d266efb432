"""The development certificate authority: a CA and one certificate per identity, made with
`cryptography` under var/tls/ on first start (`make run`, the tests, the demo, the bench).

Each identity's folder has the layout cert-manager gives a certificate's Secret (`tls.crt`,
`tls.key`, `ca.crt`), so a process is pointed at it exactly as in Kubernetes (`TLS_DIR`):

    var/tls/ca.crt, ca.key            the CA (its key never leaves this folder)
    var/tls/<identity>/tls.crt ...    gateway, assessments, candidates, harvest-sync,
                                      console, platform, operator

Every file and folder is owner-only. The servers' certificates name localhost, 127.0.0.1,
::1 and the service's Kubernetes names, so clients check the name they dial and need no
override; the callers-only identities' certificates name no host at all (they cannot serve
as anyone). Certificates within 30 days of expiry are issued again at the next start.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from alooba_common.config import CA_FILE, CERT_FILE, KEY_FILE, TlsSettings
from alooba_common.tls import Identity, TlsError, TlsMaterial

SERVERS = (Identity.ASSESSMENTS, Identity.CANDIDATES, Identity.HARVEST_SYNC, Identity.CONSOLE)
CA_DAYS = 3650
LEAF_DAYS = 365
RENEW_WITHIN = dt.timedelta(days=30)


def server_names(identity: Identity) -> list[str]:
    """The host names and addresses a server's certificate is valid for: loopback (make
    run, the tests) and its Kubernetes Service's names in any namespace's short form."""
    return ["localhost", "127.0.0.1", "::1", identity.value]


@dataclass(frozen=True, slots=True)
class DevPki:
    """A CA folder and its identities' certificates."""

    directory: Path

    def folder(self, identity: Identity) -> Path:
        return self.directory / identity.value

    def settings(self, identity: Identity) -> TlsSettings:
        """What to give a process as TLS_DIR (or TlsSettings) to be `identity`."""
        return TlsSettings.in_directory(self.folder(identity))

    @property
    def ca_file(self) -> Path:
        return self.directory / CA_FILE


def ensure_dev_pki(directory: Path) -> DevPki:
    """The CA and every identity's certificate under `directory`, made or renewed as
    needed; existing, current ones are kept, so processes already running are undisturbed."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    pki = DevPki(directory)
    ca_key_path = directory / "ca.key"
    now = dt.datetime.now(dt.UTC)
    ca = _load_ca(pki.ca_file, ca_key_path, now)
    if ca is None:
        ca = _new_ca(now)
        _write(ca_key_path, _key_pem(ca[0]))
        _write(pki.ca_file, _cert_pem(ca[1]))
    for identity in Identity:
        if not _current(pki, identity, ca[1], now):
            renew(pki, identity)
    return pki


def renew(pki: DevPki, identity: Identity) -> None:
    """Issues `identity` a new key and certificate in place, as cert-manager renews one:
    processes using it pick the new one up without a restart."""
    write_certificate(pki, pki.folder(identity), identity.spiffe_id, _hosts(identity))


def write_certificate(pki: DevPki, folder: Path, spiffe_id: str, hosts: list[str]) -> None:
    """A new key and a certificate for `spiffe_id` from the CA, into `folder`."""
    ca_key, ca_cert = _read_ca(pki)
    folder.mkdir(mode=0o700, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = issue(ca_key, ca_cert, key, spiffe_id, hosts, dt.datetime.now(dt.UTC))
    # The key first, then the certificate: a reader in between sees a pair that does not
    # match, which alooba_common.tls ignores until both are there.
    _write(folder / KEY_FILE, _key_pem(key))
    _write(folder / CA_FILE, _cert_pem(ca_cert))
    _write(folder / CERT_FILE, _cert_pem(certificate))


def issue(
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    key: ec.EllipticCurvePrivateKey,
    spiffe_id: str,
    hosts: list[str],
    now: dt.datetime,
    days: int = LEAF_DAYS,
) -> x509.Certificate:
    """A certificate for `key`: the SPIFFE ID as its one URI SAN, and the host names and
    addresses it may serve as (none for a caller only); usable to serve and to call."""
    names: list[x509.GeneralName] = [x509.UniformResourceIdentifier(spiffe_id)]
    names += [_general_name(host) for host in hosts]
    return (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, spiffe_id.rsplit("/", 1)[-1])])
        )
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))  # tolerates clock skew
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(signs_certificates=False), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )


def _new_ca(now: dt.datetime) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Alooba development CA")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(signs_certificates=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, certificate


def _load_ca(
    cert_path: Path, key_path: Path, now: dt.datetime
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate] | None:
    """The existing CA, unless it is missing, unreadable or about to expire."""
    try:
        certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError):
        return None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        return None
    if certificate.not_valid_after_utc - now < RENEW_WITHIN:
        return None
    return key, certificate


def _read_ca(pki: DevPki) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    ca = _load_ca(pki.ca_file, pki.directory / "ca.key", dt.datetime.now(dt.UTC))
    if ca is None:
        raise RuntimeError(f"no usable CA in {pki.directory}: run ensure_dev_pki first")
    return ca


def _current(pki: DevPki, identity: Identity, ca_cert: x509.Certificate, now: dt.datetime) -> bool:
    """Whether the identity's files are a matching pair for it, issued by this CA, with
    this CA beside them, naming the hosts it must (a server's), and not about to expire."""
    settings = pki.settings(identity)
    try:
        material = TlsMaterial.load(settings)
        certificate = x509.load_pem_x509_certificate(material.certificate_pem)
        certificate.verify_directly_issued_by(ca_cert)
    except (TlsError, ValueError, TypeError, InvalidSignature):
        return False
    return (
        material.identity == identity
        and material.ca_pem == _cert_pem(ca_cert)
        and certificate.not_valid_after_utc - now >= RENEW_WITHIN
        and _host_names(certificate) == set(_hosts(identity))
    )


def _hosts(identity: Identity) -> list[str]:
    return server_names(identity) if identity in SERVERS else []


def _host_names(certificate: x509.Certificate) -> set[str]:
    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set()
    return {*names.get_values_for_type(x509.DNSName)} | {
        str(address) for address in names.get_values_for_type(x509.IPAddress)
    }


def _key_usage(*, signs_certificates: bool) -> x509.KeyUsage:
    """A CA signs certificates (and CRLs) only; a leaf signs its TLS handshakes only."""
    return x509.KeyUsage(
        digital_signature=not signs_certificates,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=signs_certificates,
        crl_sign=signs_certificates,
        encipher_only=False,
        decipher_only=False,
    )


def _general_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _cert_pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def _write(path: Path, data: bytes) -> None:
    """Owner-only from the moment it exists, and replaced in one step (readers see the old
    file or the new one, never half of one)."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    os.replace(temporary, path)
