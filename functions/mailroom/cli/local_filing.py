"""Local mode's filing and receipts options (issue 21): the rules file, kept beside the state
file so that `mailroom rules` shows what the running stack files by."""

from __future__ import annotations

from pathlib import Path

import click

from mailroom.policy import domain_of
from mailroom.receipts import ReceiptPolicy, ReceiptSettings
from mailroom.routing import RoutingRules, RulesError, load_rules

RULES_FILE = "rules.json"


def local_rules(path: Path | None) -> RoutingRules:
    """`mailroom local --rules FILE`, validated before anything starts."""
    if path is None:
        return RoutingRules()
    try:
        return load_rules(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise click.BadParameter(f"cannot read {path}: {exc}", param_hint="--rules") from exc
    except RulesError as exc:
        raise click.BadParameter(str(exc), param_hint="--rules") from exc


def local_receipts(policy: str, addresses: tuple[str, ...]) -> ReceiptSettings:
    """`mailroom local --receipt-policy`: receipts from receipts@<the submission domain>, kept
    in the outbox (never mailed); our own domains are never answered."""
    domains = frozenset(d for d in (domain_of(a) for a in addresses) if d)
    first = sorted(domains)[0] if domains else "mailroom.test"
    return ReceiptSettings(
        policy=ReceiptPolicy(policy),
        from_address=f"receipts@{first}",
        firm_name="Mailroom (local)",
        contact="Questions? Reply to the person handling your case, quoting the reference.",
        own_domains=domains,
    )


def write_local_rules(state_dir: Path, rules: RoutingRules) -> Path:
    path = state_dir / RULES_FILE
    path.write_text(rules.to_json() + "\n", encoding="utf-8")
    return path
