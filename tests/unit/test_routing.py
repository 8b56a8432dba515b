"""Routing rules (issue 21): validated at load, precedence, disagreement, linear matching."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.extract.cost import METER
from mailroom.routing import (
    ADDRESS,
    DEFAULT,
    SENDER,
    SUBJECT,
    Envelope,
    RoutingRules,
    RulesError,
    SubjectPattern,
    authenticated_sender,
    load_rules,
    normalise,
    route,
)

SUBMIT = "submit@docs.example"
RULES = load_rules(
    json.dumps(
        {
            "default_case": "inbox",
            "rules": [
                {"name": "acme", "sender": "@acme.example", "case": "acme", "labels": ["client"]},
                {"name": "ann", "sender": "ann@acme.example", "case": "ann-private"},
                {"name": "bob", "sender": "bob@beta.example", "case": "beta"},
                {"name": "urgent", "recipient": SUBMIT, "tag": "urgent", "labels": ["urgent"]},
                {"name": "invoices", "subject": "Invoice", "labels": ["billing"]},
            ],
        }
    )
)


def env(subject: str = "", to: str = SUBMIT, sender: str | None = None) -> Envelope:
    return Envelope([to], subject, sender)


@pytest.mark.parametrize(
    "subject", ["Scans [case-42]", "Re: Case #42 documents", "Ref: 42", "ref:   42 please"]
)
def test_default_subject_patterns_give_the_plus_address_case(subject: str) -> None:
    filing = route(RoutingRules(), env(subject))
    assert (filing.case, filing.level, filing.needs_filing) == ("case-42", SUBJECT, False)
    # the same id a plus-address gives
    assert route(RoutingRules(), env(to="submit+case-42@docs.example")).case == "case-42"


@pytest.mark.parametrize(
    "subject", ["xref: 42", "Case #", "[case-42", "Case #-1", "Ref: " + "1" * 40, "no tag"]
)
def test_near_misses_name_no_case(subject: str) -> None:
    filing = route(RoutingRules(), env(subject))
    assert filing.case is None and not filing.needs_filing


def test_precedence_plus_address_then_subject_then_sender_then_default() -> None:
    plus = route(RULES, env("[case-1]", "submit+case-9@docs.example", "x@acme.example"))
    assert (plus.case, plus.level) == ("case-9", ADDRESS)
    subject = route(RULES, env("[case-1]", SUBMIT, "x@acme.example"))
    assert (subject.case, subject.level) == ("case-1", SUBJECT)
    sender = route(RULES, env("hello", SUBMIT, "x@mail.acme.example"))
    assert (sender.case, sender.level, sender.labels) == ("acme", SENDER, ("client",))
    default = route(RULES, env("hello", SUBMIT, None))
    assert (default.case, default.level) == ("inbox", DEFAULT)


def test_two_case_tags_in_one_subject_need_filing() -> None:
    filing = route(RULES, env("[case-1] and Case #2"))
    assert (filing.case, filing.needs_filing, filing.level) == (None, True, SUBJECT)
    assert "case-1" in filing.reason and "case-2" in filing.reason
    # the same case twice agrees
    assert route(RULES, env("Re: [case-1] Ref: 1")).case == "case-1"


def test_two_sender_rules_disagreeing_need_filing() -> None:
    filing = route(RULES, env("hello", SUBMIT, "ann@acme.example"))
    assert (filing.case, filing.needs_filing) == (None, True)
    assert filing.labels == ("client",)  # labels of every matching rule still apply


def test_two_plus_tags_disagreeing_need_filing() -> None:
    filing = route(RoutingRules(), Envelope(["s+a1@x.example", "s+b2@x.example"], "", None))
    assert filing.needs_filing and filing.case is None


def test_sender_rules_never_match_an_unauthenticated_from() -> None:
    assert authenticated_sender(False, ["ann@acme.example"]) is None
    assert authenticated_sender(True, ["a@acme.example", "b@x.example"]) is None
    sender = authenticated_sender(True, ["Ann@ACME.example"])
    assert sender == "ann@acme.example"
    assert route(RULES, env("hello", SUBMIT, None)).case == "inbox"


def test_a_tag_rule_makes_the_tag_a_label_not_a_case() -> None:
    filing = route(RULES, env("Invoice March", "submit+urgent@docs.example"))
    assert filing.case == "inbox"  # no case from +urgent, none from the subject
    assert set(filing.labels) == {"urgent", "billing"}


@pytest.mark.parametrize(
    ("rules", "fragment"),
    [
        ({"subject_patterns": ["(a+)+{id}"]}, None),  # literal text: no regex, valid
        ({"subject_patterns": ["Case {id} {id}"]}, "exactly one {id}"),
        ({"subject_patterns": ["{id}"]}, "literal text before"),
        ({"subject_patterns": ["case{id}"]}, "letter or digit"),
        ({"subject_patterns": ["x" * 50 + "{id}"]}, "at most 40"),
        ({"case_format": "CASE {id}"}, "case_format"),
        ({"rules": [{"name": "a", "case": "x"}]}, "needs a condition"),
        ({"rules": [{"name": "a", "sender": "@acme.example"}]}, "sets nothing"),
        ({"rules": [{"name": "a", "sender": "nobody", "case": "x"}]}, "not an address"),
        ({"rules": [{"name": "a", "recipient": "s+t@x.example", "case": "x"}]}, "+tag"),
        ({"rules": [{"name": "a", "subject": "x", "case": "Bad Case"}]}, "not a case id"),
        ({"rules": [{"name": "a", "subject": "x", "case": "c", "regex": ".*"}]}, "'regex'"),
        (
            {"rules": [{"name": "a", "subject": "x", "case": "c"}] * 2},
            "used twice",
        ),
        ({"bogus": 1}, "unknown key"),
    ],
)
def test_rules_are_validated_at_load(rules: dict[str, object], fragment: str | None) -> None:
    if fragment is None:
        load_rules(json.dumps(rules))
        return
    with pytest.raises(RulesError, match="invalid routing rules") as caught:
        load_rules(json.dumps(rules))
    assert fragment in str(caught.value)


def test_every_problem_is_named_at_once() -> None:
    with pytest.raises(RulesError) as caught:
        load_rules('{"default_case": "A B", "subject_patterns": ["x"], "rules": [{}]}')
    text = str(caught.value)
    assert "default_case" in text and "'x'" in text and "rule 1" in text


def test_terraform_nulls_mean_not_given_and_json_round_trips() -> None:
    rules = load_rules(
        '{"subject_patterns": null, "case_format": null, "default_case": null, "rules": '
        '[{"name": "a", "sender": "@acme.example", "recipient": null, "tag": null, '
        '"subject": null, "case": "acme", "labels": null}]}'
    )
    assert rules.subject_patterns == RoutingRules().subject_patterns
    assert load_rules(rules.to_json()) == rules
    assert load_rules("") == RoutingRules()


def test_a_configured_format() -> None:
    rules = load_rules('{"subject_patterns": ["Matter {id}/"], "case_format": "m-{id}"}')
    assert route(rules, env("Matter 2026/ scans")).case == "m-2026"
    assert route(rules, env("[case-42]")).case is None


# -- linear cost (the style of test_extract_linear: charged work, never wall-clock) ----------

PER_CHAR = 80  # a pattern's literal text plus MAX_ID_CHARS per occurrence, and one walk


def charged(pattern: SubjectPattern, subject: str) -> int:
    METER.reset()
    pattern.ids(normalise(subject))
    return METER.reset()


@pytest.mark.parametrize(
    "unit",
    ["[case-", "[case-1", "[case-" + "9" * 40, "case #", "Ref: ", "ref: 1x", " ", "[[[["],
)
def test_hostile_subjects_cost_linear_work(unit: str) -> None:
    patterns = RoutingRules().subject_patterns
    for pattern in patterns:
        small = charged(pattern, unit * 100)
        large = charged(pattern, unit * 1000)
        assert large <= PER_CHAR * len(unit * 1000)
        assert large <= 11 * max(small, 1)  # ten times the input, about ten times the work


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="[]case-#Rref: 0123456789x", max_size=400))
def test_any_subject_costs_at_most_a_multiple_of_its_length(subject: str) -> None:
    for pattern in RoutingRules().subject_patterns:
        assert charged(pattern, subject) <= PER_CHAR * (len(subject) + 1)
