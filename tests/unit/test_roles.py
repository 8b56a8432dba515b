"""Roles: each use case states the role it needs; the order of roles is the rule."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from mailroom.usecases import (
    deletes,
    doctor,
    downloads,
    files,
    holds,
    imports,
    messages,
    redrive,
    reports,
    reprocess,
    roles,
    uploads,
)
from mailroom.usecases.roles import Forbidden, Role

# The table of docs/ARCHITECTURE.md "Roles", use case by use case.
STATED: dict[Callable[..., Any], Role] = {
    files.list_files: Role.READER,
    files.get_file: Role.READER,
    files.duplicates: Role.READER,
    downloads.download: Role.READER,
    downloads.download_link: Role.READER,
    messages.get_message: Role.READER,
    messages.list_messages: Role.READER,
    messages.page_messages: Role.READER,
    reports.stats: Role.READER,
    reports.cases: Role.READER,
    uploads.upload_files: Role.UPLOADER,
    uploads.presign_upload: Role.UPLOADER,
    deletes.delete_file: Role.ADMIN,  # destructive
    holds.hold_case: Role.ADMIN,  # custodial: binds every person's deletes (issue 22)
    reprocess.reprocess: Role.ADMIN,  # hands events to the pipeline
    redrive.redrive: Role.ADMIN,
    imports.import_paths: Role.ADMIN,  # writes into incoming/ as mail
    doctor.examine: Role.ADMIN,  # reads raw/, and --fix hands events to the pipeline
}


@pytest.mark.parametrize("use_case", list(STATED), ids=lambda f: f.__qualname__)
def test_every_staff_use_case_states_its_role(use_case: Callable[..., Any]) -> None:
    assert roles.role_of(use_case) is STATED[use_case]


def test_a_use_case_without_a_role_is_a_programming_error() -> None:
    with pytest.raises(TypeError, match="states no role"):
        roles.role_of(files.group_key)


@pytest.mark.parametrize(
    ("held", "allowed"),
    [
        (set(), set()),
        ({Role.READER}, {Role.READER}),
        ({Role.UPLOADER}, {Role.READER, Role.UPLOADER}),
        ({Role.ADMIN}, {Role.READER, Role.UPLOADER, Role.ADMIN}),
        ({Role.READER, Role.ADMIN}, {Role.READER, Role.UPLOADER, Role.ADMIN}),
    ],
)
def test_roles_are_hierarchical(held: set[Role], allowed: set[Role]) -> None:
    assert {needed for needed in Role if roles.allows(held, needed)} == allowed


def test_check_raises_forbidden_naming_the_missing_role() -> None:
    roles.check({Role.ADMIN}, deletes.delete_file, "deleting a file")  # no error
    with pytest.raises(Forbidden) as refused:
        roles.check({Role.UPLOADER}, deletes.delete_file, "deleting a file")
    assert refused.value.needed is Role.ADMIN
    assert str(refused.value) == "deleting a file needs the admins role"
    with pytest.raises(Forbidden, match="needs the uploaders role"):
        roles.check({Role.READER}, uploads.presign_upload, "uploading a file")


def test_groups_map_to_roles_and_others_are_ignored() -> None:
    assert roles.roles_from_groups(["readers", "admins", "auditors", ""]) == {
        Role.READER,
        Role.ADMIN,
    }
    assert [r.group for r in Role] == ["readers", "uploaders", "admins"]
