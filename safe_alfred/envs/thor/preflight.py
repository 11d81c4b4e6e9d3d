"""Can ``env=thor`` start here? The Unity build it needs, found (or downloadable) before any episode.

ai2thor looks for ``~/.ai2thor/releases/thor-PLATFORM-COMMIT`` and otherwise downloads that build
(about 1 GB) on the first ``Controller(...)``. Without either, every episode of a run would fail
with ai2thor's ``Invalid commit_id ... no build exists``; this check says so once, before the run.
"""

from __future__ import annotations

import inspect
import os
from typing import Any

from safe_alfred.errors import UserError

HEAD_TIMEOUT_S = 5.0


def _default_commit() -> str:
    from ai2thor.controller import Controller

    return str(inspect.signature(Controller.__init__).parameters["commit_id"].default)


def check_unity_build(options: dict[str, Any]) -> None:
    """``UserError`` unless the thor backend's Unity build is installed, downloadable, or given."""
    exe = options.get("local_executable_path")
    if exe:
        if not (os.path.isfile(exe) and os.access(exe, os.X_OK)):
            raise UserError(f"env=thor: env.backend_options.local_executable_path={exe} is not an executable file")
        return
    import ai2thor.build
    import httpx

    from safe_alfred.envs.thor.backend import _platform

    try:
        platform = _platform(options.get("platform", "auto"))
    except ValueError as exc:
        raise UserError(f"env=thor: {exc}") from None
    commit = str((options.get("controller_kwargs") or {}).get("commit_id") or _default_commit())
    releases = os.path.join(os.path.expanduser("~"), ".ai2thor", "releases")
    build = ai2thor.build.Build(platform, commit, False, releases)
    if os.path.isdir(build.base_dir):
        return
    try:
        reachable = httpx.head(build.url, timeout=HEAD_TIMEOUT_S).status_code == 200
        why = "" if reachable else "it is not on the download server"
    except (httpx.HTTPError, OSError) as exc:
        reachable, why = False, f"it cannot be downloaded from here ({type(exc).__name__})"
    if not reachable:
        raise UserError(
            f"env=thor: no AI2-THOR Unity build for commit {commit[:8]} (platform {platform.name()}) in {releases}, "
            f"and {why}; run once where the network is reachable, or set "
            "+env.backend_options.local_executable_path=PATH, or use env=thor_standin (the thor adapter without Unity)")
