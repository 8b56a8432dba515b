"""`mailroom preflight` against `mailroom local`: what local mode cannot have is "not applicable
locally" (never "ok"), the rule-set states block with their fix, and an old table blocks with
`mailroom migrate`."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner

from mailroom.adapters.catalog import to_ddb
from mailroom.cli.main import cli
from mailroom.local import state as state_file
from mailroom.local.app import LocalMailroom
from mailroom.model import SCHEMA_ITEM_KEY


@pytest.fixture(scope="module", autouse=True)
def announced(stack: LocalMailroom) -> Iterator[None]:
    """The state file `mailroom local` writes, so the CLI knows it talks to local mode."""
    path = state_file.write_state(stack.local_state(os.getpid()))
    yield
    path.unlink(missing_ok=True)


def preflight(stack: LocalMailroom, *args: str) -> tuple[int, dict[str, Any]]:
    assert stack.runner is not None
    env = {**stack.env(), "MAILROOM_STATE_DIR": str(stack.state_dir), "AWS_PROFILE": None}
    with stack.runner.exclusive():
        result = CliRunner().invoke(
            cli, ["preflight", *args, "--json"], env=env, catch_exceptions=False
        )
    return result.exit_code, json.loads(result.stdout)


def by_check(report: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {f["check"]: f for f in report["findings"]}


def test_preflight_on_a_healthy_local_stack(stack: LocalMailroom) -> None:
    code, report = preflight(stack, "--deep")
    found = by_check(report)
    assert code == 0 and report["ready"], report
    for check in ("ses_receiving", "domain_verified", "mx_record", "concurrency"):
        assert found[check]["status"] == "not applicable locally", found[check]
    assert found["rule_set"]["status"] == "ok"
    assert "apply never activates or deactivates" in found["rule_set"]["summary"]
    assert found["schema_version"]["status"] == "ok"
    assert found["index_keys"]["status"] == "ok"


def test_rule_set_states_block_with_their_fix(stack: LocalMailroom) -> None:
    assert stack.endpoint is not None
    ses = stack.endpoint.client("ses")
    ours = (ses.describe_active_receipt_rule_set().get("Metadata") or {})["Name"]
    try:
        ses.set_active_receipt_rule_set()  # none active
        code, report = preflight(stack)
        rule = by_check(report)["rule_set"]
        assert code == 1 and rule["status"] == "blocks"
        assert "no rule set is active" in rule["summary"]
        assert rule["fix"].endswith(
            f"set-active-receipt-rule-set --region eu-west-1 --rule-set-name {ours}"
        )

        ses.create_receipt_rule_set(RuleSetName="firm-existing-rules")
        ses.set_active_receipt_rule_set(RuleSetName="firm-existing-rules")
        code, report = preflight(stack)
        rule = by_check(report)["rule_set"]
        assert code == 1 and rule["status"] == "blocks"
        assert "firm-existing-rules" in rule["summary"] and "replace it on purpose" in rule["fix"]
        # Preflight is read-only: the other team's set is still the active one.
        active = ses.describe_active_receipt_rule_set()["Metadata"]["Name"]
        assert active == "firm-existing-rules"
    finally:
        ses.set_active_receipt_rule_set(RuleSetName=ours)
        ses.delete_receipt_rule_set(RuleSetName="firm-existing-rules")


def test_an_older_table_blocks_until_migrated(stack: LocalMailroom) -> None:
    assert stack.endpoint is not None
    ddb = stack.endpoint.client("dynamodb")
    ddb.put_item(TableName=stack.config.table, Item=to_ddb({**SCHEMA_ITEM_KEY, "version": 1}))
    try:
        code, report = preflight(stack)
        schema = by_check(report)["schema_version"]
        assert code == 1 and schema["status"] == "blocks" and schema["fix"] == "mailroom migrate"
    finally:
        ddb.delete_item(TableName=stack.config.table, Key=to_ddb(SCHEMA_ITEM_KEY))
