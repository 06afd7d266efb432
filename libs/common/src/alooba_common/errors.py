"""Domain errors shared by the services, and their one mapping to gRPC status codes.

Services raise these from their rules; the server interceptor turns them into a status
with the message as details. Anything else that escapes a handler is INTERNAL.
"""

from __future__ import annotations

import grpc


class DomainError(Exception):
    """Base of every error a service means to report to its caller."""

    code: grpc.StatusCode = grpc.StatusCode.INTERNAL

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidArgument(DomainError):
    """The request is wrong whatever the state: a missing field, a malformed URL."""

    code = grpc.StatusCode.INVALID_ARGUMENT


class NotFound(DomainError):
    """No such thing, or it belongs to another organization (never say which)."""

    code = grpc.StatusCode.NOT_FOUND


class AlreadyExists(DomainError):
    code = grpc.StatusCode.ALREADY_EXISTS


class FailedPrecondition(DomainError):
    """The request is valid but the current state does not allow it."""

    code = grpc.StatusCode.FAILED_PRECONDITION


class Unauthenticated(DomainError):
    code = grpc.StatusCode.UNAUTHENTICATED


class Unavailable(DomainError):
    """A dependency is down; the caller may retry the same call."""

    code = grpc.StatusCode.UNAVAILABLE
