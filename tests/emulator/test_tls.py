"""The emulator's certificates: trusted through its CA file, refused without it."""

from __future__ import annotations

import ssl
from pathlib import Path

import aiohttp
import pytest
from cryptography import x509

from greenhouse_emulator.emulator import GreenhouseEmulator
from greenhouse_emulator.tls import client_ssl_context, generate_certificates


def test_server_certificate_names_loopback_ip_and_localhost(tmp_path: Path) -> None:
    files = generate_certificates(tmp_path)
    cert = x509.load_pem_x509_certificate(files.server_cert.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(ip) for ip in names.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]


def test_server_key_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    files = generate_certificates(tmp_path)
    assert files.server_key.stat().st_mode & 0o077 == 0


async def test_a_client_trusting_the_ca_connects() -> None:
    async with GreenhouseEmulator("http://127.0.0.1:9/v1/greenhouse", "key") as greenhouse:
        assert greenhouse.ca_cert_path is not None
        assert greenhouse.callback_base_url.startswith("https://127.0.0.1:")
        for host in ("127.0.0.1", "localhost"):
            url = f"https://{host}:{greenhouse.port}/_emulator/tests"
            connector = aiohttp.TCPConnector(ssl=client_ssl_context(greenhouse.ca_cert_path))
            async with (
                aiohttp.ClientSession(connector=connector) as http,
                http.get(url) as response,
            ):
                assert response.status == 200
                assert await response.json() == []


async def test_a_client_without_the_ca_is_refused() -> None:
    async with GreenhouseEmulator("http://127.0.0.1:9/v1/greenhouse", "key") as greenhouse:
        url = f"{greenhouse.base_url}/_emulator/tests"
        async with aiohttp.ClientSession() as http:
            with pytest.raises(aiohttp.ClientConnectorCertificateError) as raised:
                await http.get(url, ssl=ssl.create_default_context())
        assert isinstance(raised.value.certificate_error, ssl.SSLCertVerificationError)


async def test_each_start_has_its_own_ca() -> None:
    async with GreenhouseEmulator("http://127.0.0.1:9/v1/greenhouse", "key") as first:
        assert first.ca_cert_path is not None
        first_ca = first.ca_cert_path.read_bytes()
        async with GreenhouseEmulator("http://127.0.0.1:9/v1/greenhouse", "key") as second:
            assert second.ca_cert_path is not None
            url = f"{second.base_url}/_emulator/tests"
            context = ssl.create_default_context(cadata=first_ca.decode())
            async with aiohttp.ClientSession() as http:
                with pytest.raises(aiohttp.ClientConnectorCertificateError):
                    await http.get(url, ssl=context)


async def test_certificates_go_to_a_given_directory_and_a_temporary_one_is_removed(
    tmp_path: Path,
) -> None:
    async with GreenhouseEmulator("http://x/v1", "key", cert_dir=tmp_path) as kept:
        assert kept.ca_cert_path == tmp_path / "ca.pem"
    assert (tmp_path / "ca.pem").exists()

    async with GreenhouseEmulator("http://x/v1", "key") as temporary:
        ca = temporary.ca_cert_path
        assert ca is not None
        assert ca.exists()
    assert not ca.exists()


async def test_plain_http_when_tls_is_off() -> None:
    async with GreenhouseEmulator("http://x/v1", "key", tls=False) as greenhouse:
        assert greenhouse.ca_cert_path is None
        assert greenhouse.callback_url(7) == (
            f"http://127.0.0.1:{greenhouse.port}/integrations/testing_partners/take_home_tests/7"
        )
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{greenhouse.base_url}/_emulator/violations") as response,
        ):
            assert response.status == 200
