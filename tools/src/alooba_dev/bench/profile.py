"""Runs a service under pyinstrument: `python -m alooba_dev.bench.profile MODULE [ARGS]`.

The benchmark starts a service this way when asked (`--profile assessments`); the
service runs exactly as `python -m MODULE` would, and when it exits (SIGTERM at the end
of the run) the profile is written to $BENCH_PROFILE_DIR (default var/profiles) as
`<module>-<pid>.html`, `.txt` (call tree), `-flat.txt` (self time per function) and
`.pyisession` (re-render with `pyinstrument --load`). The whole main thread is sampled,
event-loop waits included, so "where does a request's CPU go" and "how long is the loop
idle" both show.
"""

from __future__ import annotations

import os
import runpy
import sys
from pathlib import Path

from pyinstrument import Profiler
from pyinstrument.renderers import ConsoleRenderer


def main() -> int:
    if len(sys.argv) < 2:
        print("usage: python -m alooba_dev.bench.profile MODULE [ARGS...]", file=sys.stderr)
        return 2
    module = sys.argv[1]
    sys.argv = [module, *sys.argv[2:]]
    out_dir = Path(os.environ.get("BENCH_PROFILE_DIR", "var/profiles"))
    interval = float(os.environ.get("BENCH_PROFILE_INTERVAL", "0.001"))
    profiler = Profiler(interval=interval, async_mode="disabled")
    profiler.start()
    code = 0
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    finally:
        profiler.stop()
        out_dir.mkdir(parents=True, exist_ok=True)
        stem = out_dir / f"{module}-{os.getpid()}"
        stem.with_suffix(".html").write_text(profiler.output_html())
        stem.with_suffix(".txt").write_text(profiler.output_text(unicode=True, color=False))
        # Where the CPU goes, function by function (self time): the quickest read.
        flat = ConsoleRenderer(unicode=True, flat=True, processor_options={"filter_threshold": 0})
        Path(f"{stem}-flat.txt").write_text(profiler.output(flat))
        if profiler.last_session is not None:
            profiler.last_session.save(f"{stem}.pyisession")
        print(f"profile written to {stem}.html and .txt", file=sys.stderr, flush=True)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
