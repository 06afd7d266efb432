"""When tracing is on (OpenTelemetry's own variables), and that off it costs nothing: no
OpenTelemetry module is ever loaded."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from alooba_common.config import ConfigError
from alooba_common.tracing import TracingSettings


def test_tracing_is_off_unless_configured() -> None:
    assert not TracingSettings.from_env({}).enabled


@pytest.mark.parametrize(
    "variable", ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]
)
def test_an_otlp_endpoint_turns_otlp_export_on(variable: str) -> None:
    settings = TracingSettings.from_env({variable: "http://collector:4317"})
    assert settings.exporters == ("otlp",)


def test_the_exporters_named_are_used() -> None:
    settings = TracingSettings.from_env({"OTEL_TRACES_EXPORTER": "console,otlp"})
    assert settings.exporters == ("console", "otlp")


@pytest.mark.parametrize(
    "environ",
    [
        {"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317"},
        {"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"},
    ],
)
def test_none_or_the_sdk_disabled_turns_it_off_whatever_else_is_set(
    environ: dict[str, str],
) -> None:
    assert not TracingSettings.from_env(environ).enabled


@pytest.mark.parametrize(
    "environ",
    [
        {"OTEL_TRACES_EXPORTER": "zipkin"},
        {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"},
        {
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c",
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/json",
        },
    ],
)
def test_an_exporter_or_protocol_not_in_the_images_is_a_configuration_error(
    environ: dict[str, str],
) -> None:
    with pytest.raises(ConfigError):
        TracingSettings.from_env(environ)


def test_the_traces_protocol_wins_over_the_general_one() -> None:
    settings = TracingSettings.from_env(
        {
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317",
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",  # for the process's other signals
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc",
        }
    )
    assert settings.exporters == ("otlp",)


# In a fresh interpreter: everything a service does at start and per request that could
# touch tracing, with tracing off.
_OFF = """
import json, sys
import structlog
import assessments.server, candidates.server, gateway.app, harvest_sync.server
from alooba_common.config import LoggingSettings
from alooba_common.logging import configure_logging
from alooba_common.tracing import TracingSettings, start_tracing, with_trace_context
print(json.dumps({"started": start_tracing(TracingSettings.from_env({}), service="gateway")}))
configure_logging(LoggingSettings(), service="gateway")
structlog.get_logger().info("a.line")
payload = {"invitation_id": "x"}
print(json.dumps({
    "same_payload": with_trace_context(payload) is payload,
    "loaded": sorted(m for m in sys.modules if m.startswith("opentelemetry")),
}))
"""


def test_with_tracing_off_no_opentelemetry_module_is_ever_loaded() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _OFF], capture_output=True, text=True, check=True, timeout=60
    )
    started, line, report = result.stdout.splitlines()
    assert json.loads(started) == {"started": None}
    assert "trace_id" not in json.loads(line)
    assert json.loads(report) == {"same_payload": True, "loaded": []}
