"""Routing rules: which case and labels a received message is filed under (pure, no I/O).

Rules are declared once, as JSON: the Terraform variable `routing_rules` rendered to the
functions' environment (`MAILROOM_ROUTING_RULES`, read by `Settings`), or a file for local mode
(`mailroom local --rules FILE`). `load_rules` validates everything at load and names every
problem at once.

    {
      "subject_patterns": ["[case-{id}]", "Case #{id}", "Ref: {id}"],   # the default
      "case_format": "case-{id}",                                       # the default
      "default_case": null,
      "rules": [
        {"name": "acme", "sender": "@acme.example", "case": "acme", "labels": ["client"]},
        {"name": "urgent", "recipient": "submit@docs.example", "tag": "urgent",
         "labels": ["urgent"]},
        {"name": "invoices", "subject": "invoice", "labels": ["billing"]}
      ]
    }

A rule's conditions (all that it gives must hold): `recipient` (an envelope recipient, plus-tag
removed), `tag` (that recipient's plus-tag), `sender` (`alice@x.example`, or `@x.example` for a
domain and its subdomains; only an AUTHENTICATED From address ever matches: see
`policy.authenticate`), `subject` (text the subject contains, case-insensitive). A rule sets a
`case`, `labels`, or both.

Precedence, the first level that names a case wins:

1. plus-address: `submit+case-42@` gives `case-42` (`policy.case_tag`'s syntax), and rules
   with a `recipient` or `tag`. A rule matching a tag replaces the tag as the case (a rule
   `{"tag": "urgent", "labels": ["urgent"]}` makes `+urgent` a label, not a case);
2. subject: the case-id patterns (`[case-42]`, `Case #42`, `Ref: 42` -> `case-42`), and rules
   with a `subject`;
3. sender: rules with a `sender`;
4. the default case.

When the winning level names two different cases (two case tags in one subject, two sender
rules) the message gets no case and `needs_filing`; staff file it (`mailroom file`). Labels
are the union of the labels of every rule that matched, at every level.

Subject patterns are literal text around one `{id}`; matching normalises the subject once
(lower case, whitespace runs as one space) and looks for each pattern's literal prefix with
`str.find`, reading at most MAX_ID_CHARS id characters after it: the cost is linear in the
subject whatever the patterns (no regular expressions, so no backtracking).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mailroom.extract.cost import METER
from mailroom.policy import domain_of

DEFAULT_SUBJECT_PATTERNS = ("[case-{id}]", "Case #{id}", "Ref: {id}")
DEFAULT_CASE_FORMAT = "case-{id}"
PLACEHOLDER = "{id}"
MAX_RULES = 200
MAX_PATTERNS = 20
MAX_PATTERN_CHARS = 40
MAX_LABELS = 10
MAX_ID_CHARS = 32
MAX_SUBJECT_SCAN = 4096  # characters of the subject looked at (records keep 512)
MAX_TEXT = 320

# The same syntax as a plus-address tag (policy.case_tag): what a case id may be.
CASE_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
LABEL_RE = CASE_RE
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$")
_ADDRESS_RE = re.compile(r"^[^@\s]{1,64}@[a-z0-9.-]{1,253}$")
_DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_SPACES = re.compile(r"\s+")
_PATTERN_CHARS = re.compile(r"^[\x20-\x7e]+$")
_RULE_KEYS = frozenset({"name", "recipient", "tag", "sender", "subject", "case", "labels"})
_TOP_KEYS = frozenset({"subject_patterns", "case_format", "default_case", "rules"})

ADDRESS, SUBJECT, SENDER, DEFAULT = "plus-address", "subject", "sender", "default"
LEVELS = (ADDRESS, SUBJECT, SENDER, DEFAULT)


class RulesError(ValueError):
    """The routing rules are malformed; the message names every problem."""


def _id_char(c: str) -> bool:
    return c.isascii() and c.isalnum()


@dataclass(frozen=True, slots=True)
class SubjectPattern:
    """Literal text around one `{id}`, compared case-insensitively, whitespace runs as one."""

    text: str
    prefix: str  # normalised
    suffix: str  # normalised

    @classmethod
    def parse(cls, text: str) -> SubjectPattern:
        if not isinstance(text, str) or not _PATTERN_CHARS.match(text):
            raise RulesError(f"subject pattern {text!r}: printable ASCII text only")
        if len(text) > MAX_PATTERN_CHARS:
            raise RulesError(f"subject pattern {text!r}: at most {MAX_PATTERN_CHARS} characters")
        if text.count(PLACEHOLDER) != 1:
            raise RulesError(f"subject pattern {text!r}: needs exactly one {PLACEHOLDER}")
        before, after = text.split(PLACEHOLDER)
        if "{" in before + after or "}" in before + after:
            raise RulesError(f"subject pattern {text!r}: no braces besides {PLACEHOLDER}")
        prefix, suffix = normalise(before), normalise(after)
        if not prefix.strip():
            raise RulesError(f"subject pattern {text!r}: needs literal text before {PLACEHOLDER}")
        if _id_char(prefix[-1]) or (suffix and _id_char(suffix[0])):
            raise RulesError(
                f"subject pattern {text!r}: the text next to {PLACEHOLDER} must not be a letter "
                "or digit (where would the id end?)"
            )
        return cls(text, prefix, suffix)

    def ids(self, subject: str) -> list[str]:
        """Every id this pattern finds in a normalised subject, in order (linear; see module)."""
        found = []
        start = 0
        while (at := subject.find(self.prefix, start)) >= 0:
            start = at + 1
            # A prefix starting with a letter must start a word ("xref: 1" is not "Ref: 1").
            if _id_char(self.prefix[0]) and at > 0 and _id_char(subject[at - 1]):
                continue
            i = at + len(self.prefix)
            end = i
            while end < len(subject) and end - i <= MAX_ID_CHARS and _id_char(subject[end]):
                end += 1
            if end == i or end - i > MAX_ID_CHARS:
                continue
            METER.charge(len(self.prefix) + (end - i) + len(self.suffix))
            if self.suffix and not subject.startswith(self.suffix, end):
                continue
            found.append(subject[i:end])
        METER.charge(len(subject))  # what the finds walked over, once
        return found


def normalise(text: str) -> str:
    """Lower case, every whitespace run one space (one pass; a one-character class repeated)."""
    return _SPACES.sub(" ", text.lower())


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    recipient: str | None = None
    tag: str | None = None
    sender: str | None = None  # an address, or "@domain"
    subject: str | None = None  # normalised text the subject must contain
    case: str | None = None
    labels: tuple[str, ...] = ()

    @property
    def level(self) -> str:
        if self.recipient is not None or self.tag is not None:
            return ADDRESS
        if self.subject is not None:
            return SUBJECT
        return SENDER

    def describe(self) -> str:
        parts = []
        if self.recipient:
            parts.append(f"recipient={self.recipient}")
        if self.tag:
            parts.append(f"tag={self.tag}")
        if self.sender:
            parts.append(f"sender={self.sender}")
        if self.subject:
            parts.append(f"subject~{self.subject!r}")
        return " ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        values: dict[str, Any] = {"name": self.name, "level": self.level}
        for key in ("recipient", "tag", "sender", "subject", "case"):
            if getattr(self, key) is not None:
                values[key] = getattr(self, key)
        values["labels"] = list(self.labels)
        return values


@dataclass(frozen=True, slots=True)
class RoutingRules:
    subject_patterns: tuple[SubjectPattern, ...] = field(
        default_factory=lambda: tuple(SubjectPattern.parse(p) for p in DEFAULT_SUBJECT_PATTERNS)
    )
    case_format: str = DEFAULT_CASE_FORMAT
    default_case: str | None = None
    rules: tuple[Rule, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "subject_patterns": [p.text for p in self.subject_patterns],
            "case_format": self.case_format,
            "default_case": self.default_case,
            "rules": [r.to_dict() for r in self.rules],
        }

    def to_json(self) -> str:
        """The JSON that `load_rules` reads back to the same rules (the local stack's env)."""
        values = self.to_dict()
        for rule in values["rules"]:
            del rule["level"]
        return json.dumps(values, separators=(",", ":"), sort_keys=True)


def load_rules(text: str | None) -> RoutingRules:
    """Parse and validate rules from JSON ("" or None: the defaults); RulesError names all."""
    if text is None or not text.strip():
        return RoutingRules()
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise RulesError(f"routing rules are not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise RulesError("routing rules must be a JSON object")
    return rules_from(data)


def rules_from(data: Mapping[str, Any]) -> RoutingRules:
    problems: list[str] = []
    problems.extend(f"unknown key {k!r}" for k in sorted(set(data) - _TOP_KEYS))

    patterns: list[SubjectPattern] = []
    # null is "not given" (Terraform renders an optional attribute left out as null)
    raw_patterns = _given(data, "subject_patterns", list(DEFAULT_SUBJECT_PATTERNS))
    if not isinstance(raw_patterns, list) or len(raw_patterns) > MAX_PATTERNS:
        problems.append(f"subject_patterns must be a list of at most {MAX_PATTERNS} patterns")
        raw_patterns = []
    for text in raw_patterns:
        try:
            patterns.append(SubjectPattern.parse(text))
        except RulesError as exc:
            problems.append(str(exc))

    case_format = _given(data, "case_format", DEFAULT_CASE_FORMAT)
    if (
        not isinstance(case_format, str)
        or case_format.count(PLACEHOLDER) != 1
        or not CASE_RE.match(case_format.replace(PLACEHOLDER, "1").lower())
    ):
        problems.append(
            f"case_format {case_format!r} must hold one {PLACEHOLDER} and give a case id "
            "(a-z, 0-9, '.', '_', '-')"
        )
        case_format = DEFAULT_CASE_FORMAT

    default_case = data.get("default_case")
    if default_case is not None and not _is_case(default_case):
        problems.append(f"default_case {default_case!r} is not a case id")
        default_case = None

    rules: list[Rule] = []
    raw_rules = _given(data, "rules", [])
    if not isinstance(raw_rules, list) or len(raw_rules) > MAX_RULES:
        problems.append(f"rules must be a list of at most {MAX_RULES} rules")
        raw_rules = []
    names: set[str] = set()
    for index, raw in enumerate(raw_rules):
        rule, errors = _rule(index, raw)
        problems.extend(errors)
        if rule is not None:
            if rule.name in names:
                problems.append(f"rule {rule.name!r}: the name is used twice")
            names.add(rule.name)
            rules.append(rule)
    if problems:
        raise RulesError("invalid routing rules: " + "; ".join(problems))
    return RoutingRules(tuple(patterns), case_format, default_case, tuple(rules))


def _given(data: Mapping[str, Any], key: str, default: Any) -> Any:
    value = data.get(key)
    return default if value is None else value


def _is_case(value: Any) -> bool:
    return isinstance(value, str) and bool(CASE_RE.match(value))


def _rule(index: int, raw: Any) -> tuple[Rule | None, list[str]]:
    if not isinstance(raw, dict):
        return None, [f"rule {index + 1}: must be an object"]
    name = raw.get("name")
    label = f"rule {name!r}" if isinstance(name, str) else f"rule {index + 1}"
    problems = [f"{label}: unknown key {k!r}" for k in sorted(set(raw) - _RULE_KEYS)]
    if not isinstance(name, str) or not NAME_RE.match(name):
        problems.append(f"{label}: needs a name (letters, digits, ' ._-', at most 64)")

    def text(key: str) -> str | None:
        value = raw.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT:
            problems.append(f"{label}: {key} must be non-empty text")
            return None
        return value.strip().lower()

    recipient, tag, sender = text("recipient"), text("tag"), text("sender")
    subject = raw.get("subject")
    if subject is not None:
        if (
            not isinstance(subject, str)
            or not subject.strip()
            or len(subject) > MAX_PATTERN_CHARS
            or not _PATTERN_CHARS.match(subject)
        ):
            problems.append(
                f"{label}: subject must be printable text of at most {MAX_PATTERN_CHARS} chars"
            )
            subject = None
        else:
            subject = normalise(subject.strip())
    if recipient is not None and ("+" in recipient or not _ADDRESS_RE.match(recipient)):
        problems.append(f"{label}: recipient {recipient!r} must be an address without a +tag")
    if tag is not None and not CASE_RE.match(tag):
        problems.append(f"{label}: tag {tag!r} is not a plus-address tag")
    if sender is not None:
        domain = sender[1:] if sender.startswith("@") else None
        if domain is not None and not _DOMAIN_RE.match(domain):
            problems.append(f"{label}: sender {sender!r} is not @domain")
        if domain is None and not _ADDRESS_RE.match(sender):
            problems.append(f"{label}: sender {sender!r} is not an address or @domain")
    if recipient is None and tag is None and sender is None and subject is None:
        problems.append(f"{label}: needs a condition (recipient, tag, sender or subject)")
    case = raw.get("case")
    if case is not None and not _is_case(case):
        problems.append(f"{label}: case {case!r} is not a case id")
    labels = _given(raw, "labels", [])
    if (
        not isinstance(labels, list)
        or len(labels) > MAX_LABELS
        or not all(isinstance(v, str) and LABEL_RE.match(v) for v in labels)
    ):
        problems.append(f"{label}: labels must be up to {MAX_LABELS} ids (a-z, 0-9, '._-')")
        labels = []
    if case is None and not labels:
        problems.append(f"{label}: sets nothing (give a case, labels or both)")
    if problems:
        return None, problems
    return Rule(
        str(name),
        recipient,
        tag,
        sender,
        subject,
        case,
        tuple(dict.fromkeys(labels)),
    ), []


# -- applying the rules ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Candidate:
    """One thing that named a case (or only labels): a level, what matched, what it sets."""

    level: str
    source: str  # "plus-address submit+case-42@x", "subject pattern [case-{id}]", "rule acme"
    case: str | None
    labels: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Filing:
    case: str | None
    labels: tuple[str, ...]
    needs_filing: bool
    level: str | None  # the level that decided the case, None when nothing did
    reason: str  # one line: why this case (or why none)
    candidates: tuple[Candidate, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "case": self.case,
            "labels": list(self.labels),
            "needs_filing": self.needs_filing,
            "level": self.level,
            "reason": self.reason,
            "matched": [
                {"level": c.level, "source": c.source, "case": c.case, "labels": list(c.labels)}
                for c in self.candidates
            ],
        }


@dataclass(frozen=True, slots=True)
class Envelope:
    """What routing may look at. `sender` only when SES authenticated it, else None."""

    recipients: Sequence[str]
    subject: str | None
    authenticated_sender: str | None


def _split(recipient: str) -> tuple[str, str | None]:
    address = recipient.strip().lower()
    local, at, domain = address.rpartition("@")
    if not at:
        return address, None
    base, plus, tag = local.partition("+")
    return f"{base}@{domain}", (tag.strip() if plus else None)


def route(rules: RoutingRules, envelope: Envelope) -> Filing:
    """Which case and labels the rules give this message (see the module's precedence)."""
    found: list[Candidate] = []
    recipients = [_split(r) for r in envelope.recipients]

    # 1. plus-address, and recipient/tag rules
    consumed_tags: set[str] = set()
    for rule in rules.rules:
        if rule.level != ADDRESS:
            continue
        for address, tag in recipients:
            if rule.recipient is not None and address != rule.recipient:
                continue
            if rule.tag is not None and tag != rule.tag:
                continue
            if not _also(rule, envelope):
                continue
            if rule.tag is not None:
                consumed_tags.add(rule.tag)
            found.append(Candidate(ADDRESS, f"rule {rule.name}", rule.case, rule.labels))
            break
    for address, tag in recipients:
        if tag and tag not in consumed_tags and CASE_RE.match(tag):
            local, _, domain = address.partition("@")
            found.append(Candidate(ADDRESS, f"plus-address {local}+{tag}@{domain}", tag))

    # 2. subject: case-id patterns, and subject rules
    subject = normalise((envelope.subject or "")[:MAX_SUBJECT_SCAN])
    for pattern in rules.subject_patterns:
        for ident in pattern.ids(subject):
            case = rules.case_format.replace(PLACEHOLDER, ident)
            if CASE_RE.match(case):
                found.append(Candidate(SUBJECT, f"subject pattern {pattern.text}", case))
    for rule in rules.rules:
        if rule.level == SUBJECT and _also(rule, envelope):
            found.append(Candidate(SUBJECT, f"rule {rule.name}", rule.case, rule.labels))

    # 3. authenticated sender rules
    for rule in rules.rules:
        if rule.level == SENDER and _also(rule, envelope):
            found.append(Candidate(SENDER, f"rule {rule.name}", rule.case, rule.labels))

    labels = tuple(dict.fromkeys(label for c in found for label in c.labels))
    for level in (ADDRESS, SUBJECT, SENDER):
        cases = list(dict.fromkeys(c.case for c in found if c.level == level and c.case))
        if len(cases) == 1:
            sources = ", ".join(c.source for c in found if c.level == level and c.case)
            return Filing(cases[0], labels, False, level, f"{level}: {sources}", tuple(found))
        if len(cases) > 1:
            why = f"{level} level disagrees: {', '.join(cases)}; needs filing"
            return Filing(None, labels, True, level, why, tuple(found))
    if rules.default_case:
        return Filing(rules.default_case, labels, False, DEFAULT, "default case", tuple(found))
    return Filing(None, labels, False, None, "no rule named a case", tuple(found))


def _also(rule: Rule, envelope: Envelope) -> bool:
    """The rule's subject and sender conditions (recipient/tag are checked by the caller)."""
    if rule.subject is not None:
        subject = normalise((envelope.subject or "")[:MAX_SUBJECT_SCAN])
        if subject.find(rule.subject) < 0:
            return False
    if rule.sender is not None:
        sender = envelope.authenticated_sender
        if sender is None:
            return False
        if rule.sender.startswith("@"):
            domain, wanted = domain_of(sender) or "", rule.sender[1:]
            if not (domain == wanted or domain.endswith("." + wanted)):
                return False
        elif sender.lower() != rule.sender:
            return False
    return True


def authenticated_sender(authenticated: bool, from_addresses: Iterable[str]) -> str | None:
    """The From address routing may use: only when SES authenticated it, and only one."""
    addresses = list(dict.fromkeys(a.lower() for a in from_addresses))
    return addresses[0] if authenticated and len(addresses) == 1 else None
