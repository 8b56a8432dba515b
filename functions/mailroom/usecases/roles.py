"""Roles: who may run which use case.

Three roles, one Cognito group each (infra/auth.tf), ordered: a reader reads (lists, details,
downloads, messages), an uploader reads and uploads, an admin does everything, deletes and any
other destructive or custodial action included. The order is the rule, so no role needs to be
listed beside a higher one, and a person in several groups holds the highest of them.

Each use case states the role it needs with `@needs(Role.X)`; an entry point asks `check()`
before it runs one, with the roles of the person asking. `check` raises `Forbidden` naming the
missing role (the API answers 403 with it). Pure: no claims, tokens or AWS here; the API turns
the JWT authorizer's `cognito:groups` claim into roles (`roles_from_groups`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import IntEnum
from typing import Any, TypeVar

from mailroom.usecases.errors import UseCaseError

F = TypeVar("F", bound=Callable[..., Any])
ROLE_ATTRIBUTE = "__mailroom_role__"


class Role(IntEnum):
    """Ordered: each role may do what every lower one may."""

    READER = 1
    UPLOADER = 2
    ADMIN = 3

    @property
    def group(self) -> str:
        """The Cognito group that grants it."""
        return GROUPS[self]


GROUPS = {Role.READER: "readers", Role.UPLOADER: "uploaders", Role.ADMIN: "admins"}
BY_GROUP = {group: role for role, group in GROUPS.items()}


class Forbidden(UseCaseError):
    """The person lacks the role a use case needs."""

    def __init__(self, needed: Role, action: str) -> None:
        super().__init__(f"{action} needs the {needed.group} role")
        self.needed = needed


def needs(role: Role) -> Callable[[F], F]:
    """Mark a use case with the role it needs (read back by `role_of`)."""

    def mark(func: F) -> F:
        setattr(func, ROLE_ATTRIBUTE, role)
        return func

    return mark


def role_of(use_case: Callable[..., Any]) -> Role:
    """The role a use case needs; a use case that states none is a programming error."""
    role = getattr(use_case, ROLE_ATTRIBUTE, None)
    if not isinstance(role, Role):
        raise TypeError(f"{use_case.__qualname__} states no role (@needs)")
    return role


def highest(roles: Iterable[Role]) -> Role | None:
    return max(roles, default=None)


def allows(roles: Iterable[Role], needed: Role) -> bool:
    held = highest(roles)
    return held is not None and held >= needed


def check(roles: Iterable[Role], use_case: Callable[..., Any], action: str) -> None:
    """Raise Forbidden unless `roles` include `use_case`'s role or a higher one."""
    needed = role_of(use_case)
    if not allows(roles, needed):
        raise Forbidden(needed, action)


def roles_from_groups(groups: Iterable[str]) -> frozenset[Role]:
    """The roles of a person's groups; groups that are no role are ignored."""
    return frozenset(BY_GROUP[g] for g in groups if g in BY_GROUP)
