"""The development CA (alooba_dev.pki): what `make run` and the tests make under var/tls/."""

from __future__ import annotations

import datetime as dt
import stat
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from alooba_common.config import CA_FILE, CERT_FILE
from alooba_common.tls import Identity, TlsMaterial
from alooba_dev.pki import SERVERS, ensure_dev_pki, issue


def _certificate(folder: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate((folder / CERT_FILE).read_bytes())


def _names(certificate: x509.Certificate) -> list[str]:
    extension = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    return [str(getattr(name, "value", name)) for name in extension.value]


def test_every_identity_has_its_spiffe_id_and_only_servers_have_host_names(
    tmp_path: Path,
) -> None:
    pki = ensure_dev_pki(tmp_path / "tls")

    for identity in Identity:
        material = TlsMaterial.load(pki.settings(identity))
        names = _names(_certificate(pki.folder(identity)))
        assert material.identity == identity
        assert names[0] == f"spiffe://alooba/{identity.value}"
        if identity in SERVERS:
            assert names[1:] == ["localhost", "127.0.0.1", "::1", identity.value]
        else:
            assert names[1:] == []


def test_every_file_and_folder_is_owner_only(tmp_path: Path) -> None:
    pki = ensure_dev_pki(tmp_path / "tls")

    paths = [pki.directory, *pki.directory.rglob("*")]
    modes = {str(path): stat.S_IMODE(path.stat().st_mode) for path in paths}

    assert len(paths) == 3 + 4 * len(Identity)  # the folder, the CA's two files; 3 each
    assert {mode & 0o077 for mode in modes.values()} == {0}, modes


def test_a_second_start_keeps_what_the_first_made(tmp_path: Path) -> None:
    first = ensure_dev_pki(tmp_path / "tls")
    made = {path: path.read_bytes() for path in first.directory.rglob("*") if path.is_file()}

    ensure_dev_pki(tmp_path / "tls")

    assert {path: path.read_bytes() for path in made} == made


def test_a_certificate_about_to_expire_is_issued_again(tmp_path: Path) -> None:
    pki = ensure_dev_pki(tmp_path / "tls")
    ca_key = serialization.load_pem_private_key(
        (pki.directory / "ca.key").read_bytes(), password=None
    )
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    ca_cert = x509.load_pem_x509_certificate(pki.ca_file.read_bytes())
    folder = pki.folder(Identity.GATEWAY)
    old_key = serialization.load_pem_private_key((folder / "tls.key").read_bytes(), None)
    assert isinstance(old_key, ec.EllipticCurvePrivateKey)
    soon = issue(
        ca_key, ca_cert, old_key, Identity.GATEWAY.spiffe_id, [], dt.datetime.now(dt.UTC), days=5
    )
    (folder / CERT_FILE).write_bytes(soon.public_bytes(serialization.Encoding.PEM))

    ensure_dev_pki(tmp_path / "tls")

    renewed = _certificate(folder)
    assert renewed.serial_number != soon.serial_number
    assert renewed.not_valid_after_utc - dt.datetime.now(dt.UTC) > dt.timedelta(days=300)


def test_a_new_ca_issues_every_certificate_again(tmp_path: Path) -> None:
    pki = ensure_dev_pki(tmp_path / "tls")
    (pki.directory / "ca.key").unlink()

    ensure_dev_pki(tmp_path / "tls")

    ca_cert = x509.load_pem_x509_certificate(pki.ca_file.read_bytes())
    for identity in Identity:
        _certificate(pki.folder(identity)).verify_directly_issued_by(ca_cert)
        assert (pki.folder(identity) / CA_FILE).read_bytes() == pki.ca_file.read_bytes()


def test_a_server_certificate_without_its_host_names_is_issued_again(tmp_path: Path) -> None:
    # A var/tls/ made before the console served gRPC holds a console certificate that names
    # no host; clients checking the name they dial would refuse it.
    pki = ensure_dev_pki(tmp_path / "tls")
    ca_key = serialization.load_pem_private_key(
        (pki.directory / "ca.key").read_bytes(), password=None
    )
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    ca_cert = x509.load_pem_x509_certificate(pki.ca_file.read_bytes())
    folder = pki.folder(Identity.CONSOLE)
    key = serialization.load_pem_private_key((folder / "tls.key").read_bytes(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    nameless = issue(ca_key, ca_cert, key, Identity.CONSOLE.spiffe_id, [], dt.datetime.now(dt.UTC))
    (folder / CERT_FILE).write_bytes(nameless.public_bytes(serialization.Encoding.PEM))

    ensure_dev_pki(tmp_path / "tls")

    assert _names(_certificate(folder))[1:] == ["localhost", "127.0.0.1", "::1", "console"]
