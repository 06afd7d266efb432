"""Mailers: SMTP settings from one URL, and the `.eml` folder of the embedded default."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from alooba_common.config import ConfigError
from alooba_common.mailer import DirectoryMailer, SmtpMailer, create_mailer


def test_smtp_url_gives_host_port_credentials_and_starttls() -> None:
    mailer = SmtpMailer.from_url("smtp://user:p%40ss@mail.example.org:2525?starttls=on", timeout=3)
    assert mailer == SmtpMailer(
        hostname="mail.example.org",
        port=2525,
        username="user",
        password="p@ss",
        start_tls=True,
        use_tls=False,
        timeout=3,
    )


def test_smtp_url_defaults_to_port_587_and_starttls_when_offered() -> None:
    mailer = SmtpMailer.from_url("smtp://mail.example.org", timeout=3)
    assert (mailer.port, mailer.start_tls, mailer.use_tls) == (587, None, False)
    assert (mailer.username, mailer.password) == (None, None)


@pytest.mark.parametrize(
    ("option", "expected"),
    [("on", True), ("true", True), ("OFF", False), ("false", False), ("auto", None)],
)
def test_starttls_option_values(option: str, expected: bool | None) -> None:
    mailer = SmtpMailer.from_url(f"smtp://mail.example.org?starttls={option}", timeout=3)
    assert mailer.start_tls is expected


def test_smtps_url_uses_implicit_tls_on_port_465() -> None:
    mailer = SmtpMailer.from_url("smtps://mail.example.org", timeout=3)
    assert (mailer.port, mailer.use_tls, mailer.start_tls) == (465, True, False)


def test_smtps_never_also_starts_tls() -> None:
    mailer = SmtpMailer.from_url("smtps://mail.example.org:2465?starttls=on", timeout=3)
    assert (mailer.port, mailer.use_tls, mailer.start_tls) == (2465, True, False)


@pytest.mark.parametrize(
    "url",
    ["http://mail.example.org", "mail.example.org:25", "smtp://", "smtp:///path", "imap://h"],
)
def test_url_without_smtp_scheme_or_host_is_a_config_error(url: str) -> None:
    with pytest.raises(ConfigError):
        SmtpMailer.from_url(url, timeout=3)


@pytest.mark.parametrize("option", ["yes", "required", "1", "maybe"])
def test_unknown_starttls_option_is_a_config_error(option: str) -> None:
    with pytest.raises(ConfigError):
        SmtpMailer.from_url(f"smtp://mail.example.org?starttls={option}", timeout=3)


@pytest.mark.parametrize("url", ["smtp://mail.example.org:abc", "smtp://mail.example.org:99999"])
def test_bad_port_is_a_config_error(url: str) -> None:
    with pytest.raises(ConfigError):
        SmtpMailer.from_url(url, timeout=3)


# --- finding 4l: credentials never cross the network in plaintext --------------------


def test_credentials_to_a_remote_server_require_starttls_by_default() -> None:
    # "auto" would send them in plaintext to a server (or a man in the middle) that does
    # not offer STARTTLS.
    mailer = SmtpMailer.from_url("smtp://user:pw@mail.example.org:587", timeout=3)
    assert mailer.start_tls is True


def test_credentials_to_a_remote_server_without_starttls_are_a_config_error() -> None:
    with pytest.raises(ConfigError, match="SMTP_ALLOW_PLAINTEXT_AUTH"):
        SmtpMailer.from_url("smtp://user:pw@mail.example.org:25?starttls=off", timeout=3)


def test_plaintext_credentials_can_be_allowed_explicitly() -> None:
    mailer = SmtpMailer.from_url(
        "smtp://user:pw@mail.example.org:25?starttls=off", timeout=3, allow_plaintext_auth=True
    )
    assert mailer.start_tls is False


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]", "127.0.0.53"])
def test_credentials_to_a_loopback_relay_need_no_tls(host: str) -> None:
    mailer = SmtpMailer.from_url(f"smtp://user:pw@{host}:25?starttls=off", timeout=3)
    assert mailer.start_tls is False


def test_without_credentials_starttls_stays_opportunistic() -> None:
    assert SmtpMailer.from_url("smtp://mail.example.org:25", timeout=3).start_tls is None


def test_repr_and_str_never_show_the_password() -> None:
    mailer = SmtpMailer.from_url("smtp://user:s3cr3t-pw@mail.example.org:2525", timeout=3)
    assert "s3cr3t-pw" not in repr(mailer)
    assert "s3cr3t-pw" not in str(mailer)
    assert "mail.example.org:2525" in repr(mailer)


def test_without_smtp_url_the_mailer_writes_to_the_mail_folder(tmp_path: Path) -> None:
    assert create_mailer(None, str(tmp_path), timeout=3) == DirectoryMailer(tmp_path)


def test_with_smtp_url_the_mailer_is_smtp(tmp_path: Path) -> None:
    mailer = create_mailer("smtp://mail.example.org:25", str(tmp_path), timeout=3)
    assert isinstance(mailer, SmtpMailer)


def files_in(folder: Path) -> list[Path]:
    return sorted(folder.iterdir())


def message(message_id: str, body: str) -> EmailMessage:
    email = EmailMessage()
    email["From"] = "assessments@alooba.localhost"
    email["To"] = "hpotter@hogwarts.edu"
    email["Subject"] = "Your Data Analyst assessment"
    email["Message-ID"] = message_id
    email.set_content(body)
    return email


async def test_directory_mailer_writes_the_message_as_message_id_eml(tmp_path: Path) -> None:
    folder = tmp_path / "mail"
    await DirectoryMailer(folder).send(message("<invitation-0-abc@alooba.localhost>", "Hello"))
    [written] = files_in(folder)
    assert written.name == "invitation-0-abc@alooba.localhost.eml"
    parsed = message_from_bytes(written.read_bytes(), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    assert parsed["To"] == "hpotter@hogwarts.edu"
    assert parsed.get_content().strip() == "Hello"


async def test_directory_mailer_rewrites_the_same_file_for_the_same_message(
    tmp_path: Path,
) -> None:
    mailer = DirectoryMailer(tmp_path)
    await mailer.send(message("<invitation-0-abc@alooba.localhost>", "first try"))
    await mailer.send(message("<invitation-0-abc@alooba.localhost>", "second try"))
    [written] = files_in(tmp_path)
    assert written.name == "invitation-0-abc@alooba.localhost.eml"
    assert b"second try" in written.read_bytes()


async def test_directory_mailer_keeps_a_slash_in_the_message_id_inside_the_folder(
    tmp_path: Path,
) -> None:
    await DirectoryMailer(tmp_path).send(message("<a/../../b@alooba.localhost>", "Hello"))
    assert [path.name for path in files_in(tmp_path)] == ["a_.._.._b@alooba.localhost.eml"]
