"""The migration Jobs suit GitOps: each is named for the schema revision it migrates to, so
a release with a new migration creates a new Job (a Job's pod template cannot change), and
carries the annotations Argo CD and Flux need to re-run it when only the image changes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alooba_common.migrations import head_revision

ROOT = Path(__file__).resolve().parents[2]
# Every service with a database of its own.
MIGRATED = ("assessments", "candidates", "harvest-sync", "console")


def migration_job(resources: list[dict[str, Any]], service: str) -> dict[str, Any]:
    [job] = [
        r
        for r in resources
        if r["kind"] == "Job"
        and r["metadata"]["labels"]["app.kubernetes.io/name"] == service
        and r["metadata"]["labels"]["app.kubernetes.io/component"] == "migration"
    ]
    return job


def test_each_migration_job_is_named_for_its_service_schema_head(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    for overlay, resources in rendered.items():
        for service in MIGRATED:
            head = head_revision(ROOT / "services" / service / "migrations")
            assert head is not None
            number = head.rpartition("_")[2]
            # Renaming the Job is part of adding a migration.
            assert migration_job(resources, service)["metadata"]["name"] == (
                f"{service}-migrate-{number}"
            ), (overlay, service, head)


def test_migration_jobs_are_rerun_by_argo_cd_and_flux_and_cleaned_up(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    for overlay, resources in rendered.items():
        for service in MIGRATED:
            job = migration_job(resources, service)
            annotations = job["metadata"]["annotations"]
            assert annotations["argocd.argoproj.io/hook"] == "Sync", overlay
            assert annotations["argocd.argoproj.io/hook-delete-policy"] == "BeforeHookCreation"
            assert annotations["kustomize.toolkit.fluxcd.io/force"] == "enabled"
            assert 0 < job["spec"]["ttlSecondsAfterFinished"] <= 7 * 86400
