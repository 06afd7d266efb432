"""Service identity: each process's X.509 certificate, the CA it trusts, and grpc's mutual
TLS credentials built from them.

Every process that serves or calls gRPC has its own certificate whose one URI SAN is
`spiffe://alooba/<name>` (the `Identity` below); servers require a client certificate from
the configured CA and authorize by that name (alooba_common.authz). There is no plaintext
mode: a process without its certificate does not start.

The files are read from one folder in the layout cert-manager gives a certificate's Secret
(`tls.crt`, `tls.key`, `ca.crt`), so the same setting (`TLS_DIR`) works for `make run`, the
tests and Kubernetes. cert-manager renews a certificate by rewriting its Secret, which the
kubelet swaps into the mounted folder; `CertificateFiles` notices and serves the new files,
so a renewal needs no restart.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import grpc
import structlog
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from alooba_common.config import ConfigError, TlsSettings

log = structlog.get_logger("alooba.tls")

TRUST_DOMAIN = "alooba"


class Identity(StrEnum):
    """Every caller and server of the system's gRPC APIs (ARCHITECTURE §8)."""

    GATEWAY = "gateway"
    ASSESSMENTS = "assessments"
    CANDIDATES = "candidates"
    HARVEST_SYNC = "harvest-sync"
    CONSOLE = "console"
    # The assessment platform, the app where candidates take tests (PlatformService).
    PLATFORM = "platform"
    # A person, through alooba-gh.
    OPERATOR = "operator"

    @property
    def spiffe_id(self) -> str:
        return f"spiffe://{TRUST_DOMAIN}/{self.value}"

    @classmethod
    def from_spiffe_id(cls, spiffe_id: str | None) -> Identity | None:
        """The identity a SPIFFE ID names; None for anything else (another trust domain, a
        name we do not know, no ID at all)."""
        prefix = f"spiffe://{TRUST_DOMAIN}/"
        if not spiffe_id or not spiffe_id.startswith(prefix):
            return None
        try:
            return cls(spiffe_id.removeprefix(prefix))
        except ValueError:
            return None


class TlsError(ConfigError):
    """A certificate, key or CA file is missing, unreadable or does not fit."""


@dataclass(frozen=True, slots=True)
class TlsMaterial:
    """One consistent reading of the files: a key, the certificate (chain) it belongs to,
    the trusted CA certificates, and the identity the certificate names."""

    key_pem: bytes
    certificate_pem: bytes
    ca_pem: bytes
    spiffe_id: str | None

    @property
    def identity(self) -> Identity | None:
        return Identity.from_spiffe_id(self.spiffe_id)

    @classmethod
    def load(cls, settings: TlsSettings) -> TlsMaterial:
        key_pem = _read(settings.key_file, "private key")
        certificate_pem = _read(settings.cert_file, "certificate")
        ca_pem = _read(settings.ca_file, "CA certificate")
        try:
            chain = x509.load_pem_x509_certificates(certificate_pem)
        except ValueError:
            raise TlsError(f"{settings.cert_file} holds no PEM certificate") from None
        try:
            x509.load_pem_x509_certificates(ca_pem)
        except ValueError:
            raise TlsError(f"{settings.ca_file} holds no PEM CA certificate") from None
        try:
            key = serialization.load_pem_private_key(key_pem, password=None)
        except (ValueError, TypeError):
            raise TlsError(f"{settings.key_file} holds no unencrypted PEM private key") from None
        if _public_der(key.public_key()) != _public_der(chain[0].public_key()):
            raise TlsError(f"{settings.key_file} is not the key of {settings.cert_file}")
        return cls(key_pem, certificate_pem, ca_pem, _spiffe_id(chain[0]))


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise TlsError(f"cannot read the {what} {path}: {error.strerror}") from None


def _public_der(public_key: Any) -> bytes:
    der: bytes = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return der


def _spiffe_id(certificate: x509.Certificate) -> str | None:
    """The certificate's SPIFFE ID: its one spiffe:// URI SAN (the SPIFFE rule)."""
    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return None
    uris = [u for u in names.value.get_values_for_type(x509.UniformResourceIdentifier)]
    spiffe = [u for u in uris if u.startswith("spiffe://")]
    return spiffe[0] if len(spiffe) == 1 else None


class CertificateFiles:
    """A process's certificate files, followed as they change.

    `latest()` answers the newest reading whose key and certificate belong together and
    name the expected identity; a half-written renewal (a new certificate beside the old
    key) or a wrong certificate is ignored, logged, and the previous reading kept. The
    files are stat-ed on every call and read only when they changed, so callers may ask
    often (the server asks on every new connection). Thread-safe: grpc calls the
    server's fetcher from its own threads.
    """

    def __init__(self, settings: TlsSettings, expected: Identity | None = None) -> None:
        self.settings = settings
        self._expected = expected
        self._lock = threading.Lock()
        self._signature = self._stat()
        self._material = self._load_checked()

    def latest(self) -> TlsMaterial:
        with self._lock:
            signature = self._stat()
            if signature is None or signature == self._signature:
                return self._material
            self._signature = signature
            try:
                material = self._load_checked()
            except TlsError as error:
                log.warning("tls.renewal_ignored", reason=str(error))
                return self._material
            log.info(
                "tls.certificate_reloaded",
                identity=material.spiffe_id,
                cert_file=str(self.settings.cert_file),
            )
            self._material = material
            return material

    def _load_checked(self) -> TlsMaterial:
        material = TlsMaterial.load(self.settings)
        if self._expected is not None and material.identity != self._expected:
            raise TlsError(
                f"{self.settings.cert_file} is the certificate of "
                f"{material.spiffe_id or 'no SPIFFE ID'}, not of {self._expected.spiffe_id}"
            )
        return material

    def _stat(self) -> tuple[tuple[int, int, int], ...] | None:
        try:
            stats = [
                os.stat(path)
                for path in (
                    self.settings.key_file,
                    self.settings.cert_file,
                    self.settings.ca_file,
                )
            ]
        except OSError:
            return None  # mid-swap, or gone: keep what we have
        return tuple((s.st_ino, s.st_mtime_ns, s.st_size) for s in stats)


def server_credentials(files: CertificateFiles) -> grpc.ServerCredentials:
    """Mutual TLS for a server: a client certificate from the trusted CA is required.
    grpc asks for the configuration before every new connection's handshake, so a renewed
    certificate (or a new CA bundle) is used from the next connection on, while open
    connections carry on undisturbed."""
    served = files.latest()
    lock = threading.Lock()
    current = {"material": served}

    def fetch() -> Any:  # a grpc.ServerCertificateConfiguration, or None: no change
        try:
            material = files.latest()
        except Exception:  # never let a surprise here fail every handshake
            log.exception("tls.reload_failed")
            return None
        with lock:
            if material is current["material"]:
                return None
            current["material"] = material
        return _server_configuration(material)

    return grpc.dynamic_ssl_server_credentials(
        _server_configuration(served), fetch, require_client_authentication=True
    )


def _server_configuration(material: TlsMaterial) -> Any:
    return grpc.ssl_server_certificate_configuration(
        [(material.key_pem, material.certificate_pem)], root_certificates=material.ca_pem
    )


def channel_credentials(material: TlsMaterial) -> grpc.ChannelCredentials:
    """Mutual TLS for a client: it presents its certificate and accepts a server only with
    a certificate from the trusted CA for the name it dialled."""
    return grpc.ssl_channel_credentials(
        root_certificates=material.ca_pem,
        private_key=material.key_pem,
        certificate_chain=material.certificate_pem,
    )


def peer_spiffe_id(context: grpc.aio.ServicerContext[Any, Any]) -> str | None:
    """The SPIFFE ID of the certificate the caller presented (grpc sets it when the
    certificate has exactly one spiffe:// URI SAN)."""
    values = list(context.auth_context().get("peer_spiffe_id") or ())
    if not values:
        return None
    return values[0].decode(errors="replace")
