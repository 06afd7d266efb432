"""Serving an emulator's aiohttp app, over TLS with a generated certificate or plain HTTP:
what the partner-side emulator and the Harvest emulator share."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from aiohttp import web

from greenhouse_emulator.tls import TlsFiles, generate_certificates, server_ssl_context


class Served:
    """A running server: its port, its certificate files (None without TLS), and how to
    stop it (removing certificates it generated into a temporary directory)."""

    def __init__(
        self, runner: web.AppRunner, tls_files: TlsFiles | None, temp_dir: Path | None
    ) -> None:
        self._runner = runner
        self.tls_files = tls_files
        self._temp_dir = temp_dir
        self.port: int = runner.addresses[0][1]

    async def stop(self) -> None:
        await self._runner.cleanup()
        if self._temp_dir is not None:
            shutil.rmtree(self._temp_dir, ignore_errors=True)


async def serve(
    app: web.Application,
    host: str,
    port: int,
    *,
    tls_names: Sequence[str] | None,
    cert_dir: Path | None,
    temp_prefix: str,
) -> Served:
    """Serves `app` on host:port (0 picks a free port). With `tls_names`, over TLS with a
    certificate for those names, written to `cert_dir` or else a temporary directory."""
    tls_files = None
    temp_dir = None
    ssl_context = None
    if tls_names is not None:
        directory = cert_dir
        if directory is None:
            directory = temp_dir = Path(tempfile.mkdtemp(prefix=temp_prefix))
        tls_files = generate_certificates(directory, list(tls_names))
        ssl_context = server_ssl_context(tls_files)
    # A short shutdown grace: a client's idle keep-alive connections must not hold up a
    # test's teardown.
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port, ssl_context=ssl_context).start()
    except BaseException:
        await runner.cleanup()
        if temp_dir is not None:
            shutil.rmtree(temp_dir, ignore_errors=True)
        raise
    return Served(runner, tls_files, temp_dir)
