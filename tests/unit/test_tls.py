"""Loading a process's certificate (alooba_common.tls): what is refused at start-up, and
how a renewal written to the files is taken up."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from support.tls import dev_pki

from alooba_common.config import TlsSettings
from alooba_common.tls import CertificateFiles, Identity, TlsError, TlsMaterial
from alooba_dev.pki import ensure_dev_pki, renew


def _copy(identity: Identity, tmp_path: Path) -> TlsSettings:
    folder = tmp_path / identity.value
    shutil.copytree(dev_pki().folder(identity), folder)
    return TlsSettings.in_directory(folder)


def test_a_missing_file_is_refused_naming_it(tmp_path: Path) -> None:
    settings = _copy(Identity.GATEWAY, tmp_path)
    settings.key_file.unlink()

    with pytest.raises(TlsError, match=f"cannot read the private key {settings.key_file}"):
        TlsMaterial.load(settings)


def test_a_key_that_is_not_the_certificates_is_refused(tmp_path: Path) -> None:
    settings = _copy(Identity.GATEWAY, tmp_path)
    shutil.copy(dev_pki().settings(Identity.OPERATOR).key_file, settings.key_file)

    with pytest.raises(TlsError, match="is not the key of"):
        TlsMaterial.load(settings)


def test_another_identitys_certificate_is_refused(tmp_path: Path) -> None:
    settings = _copy(Identity.OPERATOR, tmp_path)

    with pytest.raises(TlsError, match="spiffe://alooba/operator, not of spiffe://alooba/gateway"):
        CertificateFiles(settings, expected=Identity.GATEWAY)


@pytest.mark.parametrize(
    "spiffe_id",
    ["spiffe://elsewhere/gateway", "spiffe://alooba/intruder", "spiffe://alooba/", "", None],
)
def test_only_our_trust_domain_and_names_are_identities(spiffe_id: str | None) -> None:
    assert Identity.from_spiffe_id(spiffe_id) is None


def test_a_renewal_is_taken_up_once_key_and_certificate_match(tmp_path: Path) -> None:
    pki = ensure_dev_pki(tmp_path / "tls")
    files = CertificateFiles(pki.settings(Identity.GATEWAY), expected=Identity.GATEWAY)
    before = files.latest()
    renew(pki, Identity.GATEWAY)
    renewed = TlsMaterial.load(pki.settings(Identity.GATEWAY))
    # Half-way: the new key beside the old certificate, as a writer in between would leave.
    settings = pki.settings(Identity.GATEWAY)
    renewed_cert = settings.cert_file.read_bytes()
    settings.cert_file.write_bytes(before.certificate_pem)

    halfway = files.latest()
    settings.cert_file.write_bytes(renewed_cert)
    after = files.latest()

    assert halfway is before
    assert after.certificate_pem == renewed.certificate_pem != before.certificate_pem
    assert after.key_pem == renewed.key_pem
