"""protobuf ⇄ domain for the assessments gRPC API. No SQL and no rules here."""

from __future__ import annotations

import datetime as dt
import shlex
from typing import Any

import grpc
from google.protobuf import struct_pb2

from alooba.assessments.v1 import assessments_pb2 as pb
from alooba.assessments.v1 import assessments_pb2_grpc as pb_grpc
from alooba_common.acting import (
    OWNER,
    SETTINGS_ROLES,
    acting_user,
    refuse_actor,
    require_grader,
    require_role,
    scope,
)
from alooba_common.db import utcnow
from alooba_common.errors import InvalidArgument
from alooba_common.protobuf import optional, timestamp
from assessments.app import keys, setup_check
from assessments.app.administration import (
    Administration,
    IntegrationHealth,
    InvitationView,
    TestChanges,
)
from assessments.app.candidate_directory import CandidateContact
from assessments.app.lifecycle import PlatformApi, SkillScore
from assessments.app.partner import PartnerApi, ResponseErrorCommand, SendTestCommand
from assessments.app.setup_check import ConsoleFixes, HarvestStatusSource, OperatorFixes
from assessments.app.webhooks import PingRecord, Webhooks
from assessments.store.models import (
    ApiKey,
    Invitation,
    InvitationEvent,
    Organization,
    Test,
    WebhookPing,
    WebhookReceipt,
)
from assessments.store.states import InvitationStatus

Context = grpc.aio.ServicerContext[Any, Any]

_INVITATION_STATUS: dict[InvitationStatus, pb.InvitationStatus.ValueType] = {
    InvitationStatus.SENT: pb.INVITATION_STATUS_SENT,
    InvitationStatus.STARTED: pb.INVITATION_STATUS_STARTED,
    InvitationStatus.AWAITING_EVALUATION: pb.INVITATION_STATUS_AWAITING_EVALUATION,
    InvitationStatus.COMPLETE: pb.INVITATION_STATUS_COMPLETE,
    InvitationStatus.EXPIRED: pb.INVITATION_STATUS_EXPIRED,
    InvitationStatus.CANCELLED: pb.INVITATION_STATUS_CANCELLED,
}
_KEY_STATE = {
    keys.KeyState.ACTIVE: pb.API_KEY_STATE_ACTIVE,
    keys.KeyState.RETIRING: pb.API_KEY_STATE_RETIRING,
    keys.KeyState.REVOKED: pb.API_KEY_STATE_REVOKED,
    keys.KeyState.EXPIRED: pb.API_KEY_STATE_EXPIRED,
}


def organization_pb(org: Organization) -> pb.Organization:
    return pb.Organization(id=org.id, name=org.name, create_time=timestamp(org.created_at))


def api_key_pb(key: ApiKey) -> pb.ApiKey:
    return pb.ApiKey(
        id=key.id,
        organization_id=key.organization_id,
        prefix=key.prefix,
        state=_KEY_STATE[keys.key_state(key, utcnow())],
        create_time=timestamp(key.created_at),
        expire_time=timestamp(key.expires_at),
        revoke_time=timestamp(key.revoked_at),
        last_used_time=timestamp(key.last_used_at),
    )


def test_pb(test: Test) -> pb.Test:
    return pb.Test(
        id=test.id,
        organization_id=test.organization_id,
        name=test.name,
        skills=test.skills,
        needs_manual_evaluation=test.needs_manual_evaluation,
        expiry_days=test.expiry_days,
        archived=test.archived_at is not None,
        create_time=timestamp(test.created_at),
        update_time=timestamp(test.updated_at),
    )


def webhook_ping_pb(ping: WebhookPing) -> pb.WebhookPing:
    return pb.WebhookPing(
        organization_id=ping.organization_id,
        web_hook_id=ping.web_hook_id,
        name=ping.name,
        event=ping.event,
        endpoint_url=ping.endpoint_url,
        active=ping.active,
        receive_time=timestamp(ping.received_at),
    )


def webhook_receipt_pb(receipt: WebhookReceipt) -> pb.WebhookReceipt:
    return pb.WebhookReceipt(
        action=receipt.action,
        success_count=receipt.success_count,
        last_success_time=timestamp(receipt.last_success_at),
        failure_count=receipt.failure_count,
        last_failure_time=timestamp(receipt.last_failure_at),
    )


def integration_health_pb(health: IntegrationHealth) -> pb.GetIntegrationHealthResponse:
    callbacks = health.callbacks
    return pb.GetIntegrationHealthResponse(
        organization_id=health.organization_id,
        webhook_receipts=[webhook_receipt_pb(r) for r in health.webhook_receipts],
        webhook_pings=[webhook_ping_pb(p) for p in health.webhook_pings],
        callbacks=pb.CallbackHealth(
            delivered=callbacks.delivered,
            pending=callbacks.pending,
            dead=callbacks.dead,
            last_delivery_time=timestamp(callbacks.last_delivered_at),
            oldest_pending_time=timestamp(callbacks.oldest_pending_at),
        ),
        dead_letters=[
            pb.DeadLetterCount(kind=kind, count=count)
            for kind, count in sorted(health.dead_letters.items())
        ],
        check_time=timestamp(health.checked_at),
        harvest_skips=[
            pb.HarvestSkip(reason=reason, count=count, last_time=timestamp(latest))
            for reason, (count, latest) in sorted(health.harvest_skips.items())
        ],
    )


def _event_pb(event: InvitationEvent) -> pb.InvitationEvent:
    return pb.InvitationEvent(kind=event.kind, occur_time=timestamp(event.occurred_at))


def invitation_pb(view: InvitationView) -> pb.Invitation:
    invitation: Invitation = view.invitation
    candidate = view.candidate
    return pb.Invitation(
        candidate=(
            pb.CandidateSummary(
                display_name=candidate.display_name,
                erased=candidate.erased,
                hiring_status=candidate.hiring_status,
                hiring_status_time=timestamp(candidate.hiring_status_changed_at),
                erase_time=timestamp(candidate.erased_at),
            )
            if candidate is not None
            else None
        ),
        start_time=timestamp(invitation.started_at),
        submit_time=timestamp(invitation.submitted_at),
        complete_time=timestamp(invitation.completed_at),
        score=invitation.score,
        skill_scores=[
            pb.SkillScore(skill=item["skill"], score=item["score"])
            for item in invitation.skill_scores or []
        ],
        evaluator=invitation.evaluator or "",
        needs_manual_evaluation=invitation.needs_manual_evaluation,
        id=invitation.id,
        organization_id=invitation.organization_id,
        test_id=invitation.test_id,
        test_name=view.test_name,
        status=_INVITATION_STATUS.get(invitation.status, pb.INVITATION_STATUS_UNSPECIFIED),
        candidate_id=invitation.candidate_id,
        application_id=invitation.application_id,
        callback_url=invitation.callback_url,
        create_time=timestamp(invitation.created_at),
        expire_time=timestamp(invitation.expires_at),
        events=[_event_pb(event) for event in view.events],
        deliveries=[
            pb.InvitationEvent(kind=kind, occur_time=timestamp(at)) for kind, at in view.deliveries
        ],
    )


class PartnerServicer(pb_grpc.PartnerServiceServicer):
    def __init__(self, partner: PartnerApi) -> None:
        self._partner = partner

    async def ListTests(
        self, request: pb.ListTestsRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.ListTestsResponse:
        tests = await self._partner.list_tests(request.partner_key)
        return pb.ListTestsResponse(
            tests=[pb.PartnerTest(partner_test_id=t.id, partner_test_name=t.name) for t in tests]
        )

    async def SendTest(
        self, request: pb.SendTestRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.SendTestResponse:
        candidate = request.candidate
        command = SendTestCommand(
            partner_test_id=request.partner_test_id,
            contact=CandidateContact(
                first_name=candidate.first_name,
                last_name=candidate.last_name,
                preferred_name=optional(candidate, "preferred_name"),
                email=candidate.email,
                phone_number=optional(candidate, "phone_number"),
            ),
            resume_url=optional(candidate, "resume_url"),
            greenhouse_profile_url=candidate.greenhouse_profile_url,
            sent_by=optional(request, "sent_by"),
            url=request.url,
        )
        interview_id, created = await self._partner.send_test(request.partner_key, command)
        return pb.SendTestResponse(partner_interview_id=interview_id, created=created)

    async def GetTestStatus(
        self, request: pb.GetTestStatusRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.GetTestStatusResponse:
        view = await self._partner.test_status(request.partner_key, request.partner_interview_id)
        response = pb.GetTestStatusResponse(
            partner_status=view.partner_status,
            partner_profile_url=view.partner_profile_url,
            partner_score=view.partner_score,
        )
        if view.metadata is not None:
            metadata = struct_pb2.Struct()
            metadata.update(view.metadata)
            response.metadata.CopyFrom(metadata)
        return response

    async def Authenticate(
        self, request: pb.AuthenticateRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.AuthenticateResponse:
        organization_id = await self._partner.authenticate(request.partner_key)
        return pb.AuthenticateResponse(organization_id=organization_id)

    async def RecordResponseError(
        self, request: pb.RecordResponseErrorRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.RecordResponseErrorResponse:
        report_id = await self._partner.record_response_error(
            request.partner_key,
            ResponseErrorCommand(
                api_call=request.api_call,
                errors=list(request.errors),
                partner_test_id=optional(request, "partner_test_id"),
                partner_test_name=optional(request, "partner_test_name"),
                partner_interview_id=optional(request, "partner_interview_id"),
                candidate_email_present=request.candidate_email_present,
            ),
        )
        return pb.RecordResponseErrorResponse(id=report_id)


class AdminServicer(pb_grpc.AdminServiceServicer):
    """Operators' calls, and the console's on behalf of a person: those are scoped to the
    person's organization (alooba_common.acting), keys and the setup check to Owners and
    Admins."""

    def __init__(
        self, admin: Administration, harvest: HarvestStatusSource, *, recent_days_default: int
    ) -> None:
        self._admin = admin
        self._harvest = harvest
        self._recent_days_default = recent_days_default

    async def CreateOrganization(
        self, request: pb.CreateOrganizationRequest, context: Context
    ) -> pb.CreateOrganizationResponse:
        refuse_actor(acting_user(context))
        org = await self._admin.create_organization(request.name)
        return pb.CreateOrganizationResponse(organization=organization_pb(org))

    async def ListOrganizations(
        self, request: pb.ListOrganizationsRequest, context: Context
    ) -> pb.ListOrganizationsResponse:
        actor = acting_user(context)
        orgs = await self._admin.organizations()
        if actor is not None:
            orgs = [o for o in orgs if o.id == actor.organization_id]
        return pb.ListOrganizationsResponse(organizations=[organization_pb(o) for o in orgs])

    async def GetOrganization(
        self, request: pb.GetOrganizationRequest, context: Context
    ) -> pb.GetOrganizationResponse:
        actor = acting_user(context)
        org = await self._admin.organization(organization_id=request.id, name=request.name)
        scope(actor, org.id)
        return pb.GetOrganizationResponse(organization=organization_pb(org))

    async def RenameOrganization(
        self, request: pb.RenameOrganizationRequest, context: Context
    ) -> pb.RenameOrganizationResponse:
        # The name is what every Greenhouse webhook must send: the console's Owners only.
        actor = acting_user(context)
        organization_id = scope(actor, request.organization_id)
        require_role(actor, (OWNER,))
        org, previous = await self._admin.rename_organization(organization_id, request.name)
        return pb.RenameOrganizationResponse(
            organization=organization_pb(org), previous_name=previous
        )

    def _settings_scope(self, context: Context, organization_id: str) -> str:
        """The organization, for calls that touch keys or setup: Owners and Admins only."""
        actor = acting_user(context)
        organization_id = scope(actor, organization_id)
        require_role(actor, SETTINGS_ROLES)
        return organization_id

    async def IssueApiKey(
        self, request: pb.IssueApiKeyRequest, context: Context
    ) -> pb.IssueApiKeyResponse:
        key, secret = await self._admin.issue_key(
            self._settings_scope(context, request.organization_id)
        )
        return pb.IssueApiKeyResponse(api_key=api_key_pb(key), secret=secret)

    async def RotateApiKey(
        self, request: pb.RotateApiKeyRequest, context: Context
    ) -> pb.RotateApiKeyResponse:
        key, secret, previous = await self._admin.rotate_key(
            self._settings_scope(context, request.organization_id), request.grace_period_seconds
        )
        return pb.RotateApiKeyResponse(
            api_key=api_key_pb(key), secret=secret, previous=api_key_pb(previous)
        )

    async def RevokeApiKey(
        self, request: pb.RevokeApiKeyRequest, context: Context
    ) -> pb.RevokeApiKeyResponse:
        key = await self._admin.revoke_key(
            self._settings_scope(context, request.organization_id), request.api_key_id
        )
        return pb.RevokeApiKeyResponse(api_key=api_key_pb(key))

    async def ListApiKeys(
        self, request: pb.ListApiKeysRequest, context: Context
    ) -> pb.ListApiKeysResponse:
        found = await self._admin.keys(self._settings_scope(context, request.organization_id))
        return pb.ListApiKeysResponse(api_keys=[api_key_pb(k) for k in found])

    async def CreateTest(
        self, request: pb.CreateTestRequest, context: Context
    ) -> pb.CreateTestResponse:
        test = await self._admin.create_test(
            self._settings_scope(context, request.organization_id),
            name=request.name,
            skills=list(request.skills),
            needs_manual_evaluation=request.needs_manual_evaluation,
            expiry_days=request.expiry_days,
        )
        return pb.CreateTestResponse(test=test_pb(test))

    async def UpdateTest(
        self, request: pb.UpdateTestRequest, context: Context
    ) -> pb.UpdateTestResponse:
        changes = TestChanges(
            name=optional(request, "name"),
            skills=list(request.skills.skills) if request.HasField("skills") else None,
            needs_manual_evaluation=optional(request, "needs_manual_evaluation"),
            expiry_days=optional(request, "expiry_days"),
        )
        test = await self._admin.update_test(
            self._settings_scope(context, request.organization_id), request.test_id, changes
        )
        return pb.UpdateTestResponse(test=test_pb(test))

    async def ArchiveTest(
        self, request: pb.ArchiveTestRequest, context: Context
    ) -> pb.ArchiveTestResponse:
        test = await self._admin.archive_test(
            self._settings_scope(context, request.organization_id), request.test_id
        )
        return pb.ArchiveTestResponse(test=test_pb(test))

    async def ListOrganizationTests(
        self, request: pb.ListOrganizationTestsRequest, context: Context
    ) -> pb.ListOrganizationTestsResponse:
        tests = await self._admin.tests(
            scope(acting_user(context), request.organization_id),
            include_archived=request.include_archived,
        )
        return pb.ListOrganizationTestsResponse(tests=[test_pb(t) for t in tests])

    async def ListInvitations(
        self, request: pb.ListInvitationsRequest, context: Context
    ) -> pb.ListInvitationsResponse:
        status = _STATUS_NAME.get(request.status) if request.status else None
        if request.status and status is None:
            raise InvalidArgument("unknown status")
        views, next_token = await self._admin.invitations(
            scope(acting_user(context), request.organization_id),
            page_size=request.page_size,
            page_token=request.page_token,
            status=status,
        )
        return pb.ListInvitationsResponse(
            invitations=[invitation_pb(v) for v in views], next_page_token=next_token
        )

    async def GetInvitation(
        self, request: pb.GetInvitationRequest, context: Context
    ) -> pb.GetInvitationResponse:
        view = await self._admin.invitation(
            scope(acting_user(context), request.organization_id),
            request.invitation_id,
            include_candidate=request.include_candidate,
            include_deliveries=True,
        )
        return pb.GetInvitationResponse(invitation=invitation_pb(view))

    async def GetIntegrationHealth(
        self, request: pb.GetIntegrationHealthRequest, context: Context
    ) -> pb.GetIntegrationHealthResponse:
        health = await self._admin.integration_health(
            self._settings_scope(context, request.organization_id)
        )
        return integration_health_pb(health)

    async def CheckSetup(
        self, request: pb.CheckSetupRequest, context: Context
    ) -> pb.CheckSetupResponse:
        organization_id = self._settings_scope(context, request.organization_id)
        if request.recent_days < 0:
            raise InvalidArgument("recent_days must not be negative")
        organization = organization_pb(
            await self._admin.organization(organization_id=organization_id)
        )
        fixes: setup_check.Fixes = (
            ConsoleFixes()
            if request.audience == pb.FIX_AUDIENCE_CONSOLE
            else OperatorFixes(shlex.quote(organization.name), self._harvest.address)
        )
        now = utcnow()
        keys_found = await self._admin.keys(organization_id)
        tests = await self._admin.tests(organization_id, include_archived=True)
        health = integration_health_pb(await self._admin.integration_health(organization_id))
        harvest = await self._harvest.checks(
            organization_id, fixes, refresh=request.refresh_harvest, now=now
        )
        checks = setup_check.verdicts(
            organization,
            [api_key_pb(k) for k in keys_found],
            [test_pb(t) for t in tests],
            health,
            harvest,
            fixes,
            recent_days=request.recent_days or self._recent_days_default,
            now=now,
            webhook_url=request.webhook_url[:500],
        )
        return pb.CheckSetupResponse(
            organization=organization, checks=checks, check_time=timestamp(now)
        )


_STATUS_NAME = {value: name for name, value in _INVITATION_STATUS.items()}


def _console_scope(context: Context) -> str | None:
    """The console may extend, cancel and resend its own organization's
    invitations (Owners and Admins); None: the platform's call, unscoped."""
    actor = acting_user(context)
    require_role(actor, SETTINGS_ROLES)
    return actor.organization_id if actor is not None else None


def _grading_scope(context: Context) -> str | None:
    """The console may record evaluations for Owners, Admins and Members who are graders,
    in their own organization; None: the platform's call, unscoped."""
    actor = acting_user(context)
    require_grader(actor)
    return actor.organization_id if actor is not None else None


def _skill_scores(items: Any) -> list[SkillScore]:
    return [SkillScore(skill=item.skill, score=item.score) for item in items]


class PlatformServicer(pb_grpc.PlatformServiceServicer):
    """The assessment platform's calls. Each answers with the invitation as it now is."""

    def __init__(self, platform: PlatformApi, admin: Administration) -> None:
        self._platform = platform
        self._admin = admin

    async def _view(self, invitation: Invitation) -> pb.Invitation:
        view = await self._admin.invitation(invitation.organization_id, invitation.id)
        return invitation_pb(view)

    async def ResolveAccessToken(
        self, request: pb.ResolveAccessTokenRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.ResolveAccessTokenResponse:
        refuse_actor(acting_user(context))
        invitation = await self._platform.resolve_access_token(request.access_token)
        return pb.ResolveAccessTokenResponse(invitation=await self._view(invitation))

    async def StartAssessment(
        self, request: pb.StartAssessmentRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.StartAssessmentResponse:
        refuse_actor(acting_user(context))
        invitation = await self._platform.start(request.idempotency_key, request.invitation_id)
        return pb.StartAssessmentResponse(invitation=await self._view(invitation))

    async def SubmitAssessment(
        self, request: pb.SubmitAssessmentRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.SubmitAssessmentResponse:
        refuse_actor(acting_user(context))
        invitation = await self._platform.submit(
            request.idempotency_key,
            request.invitation_id,
            score=request.score,
            skill_scores=_skill_scores(request.skill_scores),
            needs_manual_evaluation=request.needs_manual_evaluation,
        )
        return pb.SubmitAssessmentResponse(invitation=await self._view(invitation))

    async def RecordEvaluation(
        self, request: pb.RecordEvaluationRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.RecordEvaluationResponse:
        invitation = await self._platform.evaluate(
            request.idempotency_key,
            request.invitation_id,
            score=request.score,
            skill_scores=_skill_scores(request.skill_scores),
            evaluator=request.evaluator,
            organization_id=_grading_scope(context),
        )
        return pb.RecordEvaluationResponse(invitation=await self._view(invitation))

    async def ExtendDeadline(
        self, request: pb.ExtendDeadlineRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.ExtendDeadlineResponse:
        if not request.HasField("expire_time"):
            raise InvalidArgument("expire_time is required")
        expires_at = request.expire_time.ToDatetime(tzinfo=dt.UTC)
        invitation = await self._platform.extend(
            request.idempotency_key,
            request.invitation_id,
            expires_at,
            organization_id=_console_scope(context),
        )
        return pb.ExtendDeadlineResponse(invitation=await self._view(invitation))

    async def CancelInvitation(
        self, request: pb.CancelInvitationRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.CancelInvitationResponse:
        invitation = await self._platform.cancel(
            request.idempotency_key,
            request.invitation_id,
            request.reason,
            organization_id=_console_scope(context),
        )
        return pb.CancelInvitationResponse(invitation=await self._view(invitation))

    async def ResendInvitation(
        self, request: pb.ResendInvitationRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.ResendInvitationResponse:
        invitation = await self._platform.resend(
            request.idempotency_key,
            request.invitation_id,
            organization_id=_console_scope(context),
        )
        return pb.ResendInvitationResponse(invitation=await self._view(invitation))


class WebhookServicer(pb_grpc.WebhookServiceServicer):
    def __init__(self, webhooks: Webhooks) -> None:
        self._webhooks = webhooks

    async def VerifyWebhookSignature(
        self,
        request: pb.VerifyWebhookSignatureRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> pb.VerifyWebhookSignatureResponse:
        organization_id = await self._webhooks.verify_signature(
            request.organization_name, request.signature, request.body, request.action
        )
        return pb.VerifyWebhookSignatureResponse(organization_id=organization_id)

    async def LookupWebhookOrganization(
        self,
        request: pb.LookupWebhookOrganizationRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> pb.LookupWebhookOrganizationResponse:
        """Whether webhooks may name this organization; costs the same either way."""
        known = await self._webhooks.organization_known(request.organization_name)
        return pb.LookupWebhookOrganizationResponse(known=known)

    async def RecordWebhookPing(
        self, request: pb.RecordWebhookPingRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.RecordWebhookPingResponse:
        ping = request.ping
        await self._webhooks.record_ping(
            ping.organization_id,
            PingRecord(
                web_hook_id=ping.web_hook_id,
                name=ping.name,
                event=ping.event,
                endpoint_url=ping.endpoint_url,
                active=ping.active,
            ),
        )
        return pb.RecordWebhookPingResponse()

    async def CancelCandidateInvitations(
        self,
        request: pb.CancelCandidateInvitationsRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> pb.CancelCandidateInvitationsResponse:
        cancelled = await self._webhooks.cancel_candidate_invitations(
            request.organization_id, request.candidate_id, request.reason
        )
        return pb.CancelCandidateInvitationsResponse(cancelled=cancelled)

    async def ListWebhookPings(
        self, request: pb.ListWebhookPingsRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.ListWebhookPingsResponse:
        pings = await self._webhooks.pings(request.organization_id)
        return pb.ListWebhookPingsResponse(pings=[webhook_ping_pb(p) for p in pings])
