"""Settings from the environment: bad values fail loudly at start-up."""

from __future__ import annotations

from pathlib import Path

import pytest

import assessments.config
from alooba_common.config import (
    ConfigError,
    GrpcServerSettings,
    TlsSettings,
    env_bool,
    env_float,
    env_int,
    env_list,
    env_str,
)
from alooba_common.secrets import generate_kek


@pytest.mark.parametrize("raw", ["abc", "1.5", "12 apples", "0x10"])
def test_bad_int_raises_config_error(raw: str) -> None:
    with pytest.raises(ConfigError, match="PORT"):
        env_int({"PORT": raw}, "PORT", 1)


@pytest.mark.parametrize("raw", ["maybe", "2", "enabled", "yess"])
def test_bad_bool_raises_config_error(raw: str) -> None:
    with pytest.raises(ConfigError, match="FLAG"):
        env_bool({"FLAG": raw}, "FLAG", False)


def test_bad_float_raises_config_error() -> None:
    with pytest.raises(ConfigError, match="TIMEOUT"):
        env_float({"TIMEOUT": "soon"}, "TIMEOUT", 1.0)


@pytest.mark.parametrize(
    ("raw", "expected"), [("1", True), ("TRUE", True), (" on ", True), ("no", False), ("0", False)]
)
def test_bool_spellings_are_understood(raw: str, expected: bool) -> None:
    assert env_bool({"FLAG": raw}, "FLAG", not expected) is expected


def test_blank_values_fall_back_to_defaults() -> None:
    environ = {"N": "  ", "B": "", "F": " ", "S": "  ", "L": " "}
    assert env_int(environ, "N", 7) == 7
    assert env_bool(environ, "B", True) is True
    assert env_float(environ, "F", 2.5) == 2.5
    assert env_str(environ, "S", "dflt") == "dflt"
    assert env_list(environ, "L", ("a",)) == ("a",)


def test_required_string_that_is_missing_raises_config_error() -> None:
    with pytest.raises(ConfigError, match="KEY_ENCRYPTION_KEY"):
        env_str({}, "KEY_ENCRYPTION_KEY")


def test_list_is_split_on_commas_and_trimmed() -> None:
    assert env_list({"L": " a.io, *.b.io ,,"}, "L", ()) == ("a.io", "*.b.io")


def test_grpc_server_settings_defaults_with_only_the_certificate_folder() -> None:
    settings = GrpcServerSettings.from_env({"TLS_DIR": "/etc/alooba/tls"})
    assert settings == GrpcServerSettings(tls=TlsSettings.in_directory("/etc/alooba/tls"))
    assert settings.host == "[::]"
    assert settings.port == 50051
    assert settings.health_port == 50050
    assert settings.metrics_port == 9090
    assert settings.reflection is False
    assert settings.max_concurrent_rpcs is None
    assert settings.tls == TlsSettings(
        cert_file=Path("/etc/alooba/tls/tls.crt"),
        key_file=Path("/etc/alooba/tls/tls.key"),
        ca_file=Path("/etc/alooba/tls/ca.crt"),
    )


def test_grpc_server_settings_read_from_the_environment() -> None:
    settings = GrpcServerSettings.from_env(
        {
            "TLS_DIR": "/tls",
            "TLS_CA_FILE": "/bundle/ca.crt",
            "GRPC_PORT": "6000",
            "HEALTH_PORT": "6001",
            "GRPC_REFLECTION": "true",
            "GRPC_MAX_CONCURRENT_RPCS": "64",
        }
    )
    assert settings.port == 6000
    assert settings.health_port == 6001
    assert settings.reflection is True
    assert settings.max_concurrent_rpcs == 64
    assert settings.tls.ca_file == Path("/bundle/ca.crt")
    assert settings.tls.cert_file == Path("/tls/tls.crt")


def test_grpc_server_settings_with_a_bad_port_raise_config_error() -> None:
    with pytest.raises(ConfigError, match="GRPC_PORT"):
        GrpcServerSettings.from_env({"TLS_DIR": "/tls", "GRPC_PORT": "fifty"})


def test_grpc_server_settings_without_a_certificate_folder_raise_config_error() -> None:
    # No plaintext mode to fall into: a server without its certificate does not start.
    with pytest.raises(ConfigError, match="TLS_DIR must be set"):
        GrpcServerSettings.from_env({})


def test_schema_ahead_of_the_code_is_ready_but_behind_or_foreign_is_not() -> None:
    from alooba_common.migrations import schema_is_current

    assert schema_is_current("assessments_0003", "assessments_0003")
    assert schema_is_current("assessments_0004", "assessments_0003")
    assert not schema_is_current("assessments_0002", "assessments_0003")
    assert not schema_is_current("candidates_0009", "assessments_0003")
    assert not schema_is_current(None, "assessments_0003")


def test_a_key_rotation_grace_beyond_30_days_is_a_config_error() -> None:
    # Finding 4g: the service's own default is bounded like an operator's --grace.
    environ = {
        "TLS_DIR": "/tls",
        "KEY_ENCRYPTION_KEY": generate_kek(),
        "KEY_ROTATION_GRACE_SECONDS": str(31 * 86_400),
    }
    with pytest.raises(ConfigError, match="30 days"):
        assessments.config.Settings.from_env(environ)
