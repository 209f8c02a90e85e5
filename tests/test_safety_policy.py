"""The risky-action gate's judgement on its own (actions.safety, actions.risk_words): words in many
languages and spellings, destructive typed commands, and where the model's stated intent decides
(the desktop, nameless graphics). The same gate on real pages: tests/test_gate_bypasses.py."""

from __future__ import annotations

import pytest

from actions.risk_words import DEFAULT_RISKY_COMMANDS, DEFAULT_RISKY_WORDS, CommandMatcher, WordMatcher
from actions.safety import SafetyPolicy
from actions.types import Click, Drag, ElementInfo, Hotkey, MoveTo, TypeText

pytestmark = pytest.mark.unit

WORDS = WordMatcher(DEFAULT_RISKY_WORDS)
COMMANDS = CommandMatcher(DEFAULT_RISKY_COMMANDS)


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("BuyNow", "buy now"),
        ("place_order", "place order"),
        ("ＢＵＹ", "buy"),  # full-width
        ("Jetzt kaufen", "jetzt kaufen"),
        ("LÖSCHEN", "löschen"),
        ("Zahlungspflichtig   bestellen", "zahlungspflichtig bestellen"),
        ("Supprimer le fichier", "supprimer"),
        ("Realizar pedido", "realizar pedido"),
        ("立即购买", "立即购买"),
        ("確認して注文を確定する", "注文を確定"),
        ("Proceed to checkout", "checkout"),
        ("Next", None),
        ("Display settings", None),  # "pay" only as a word
        ("Einkaufswagen", None),  # "kauf" inside a German compound: a shopping cart
        ("Search", None),
    ],
)
def test_risky_words_in_any_spelling(text: str, word: str | None) -> None:
    assert WORDS.find(text) == word


@pytest.mark.parametrize(
    "text",
    [
        "rm -rf /",
        "rm -r build",
        "sudo apt remove x",
        "dd if=/dev/zero of=/dev/sda",
        "mkfs.ext4 /dev/sdb1",
        "shred -u key",
        ":(){ :|:& };:",
        "chmod -R 777 /",
        "chown -R me /",
        "cat x > /dev/sda",
        "shutdown -h now",
        "ls; reboot",
        "git push --force origin main",
        "git push -f",
        "git reset --hard HEAD~3",
        "git clean -fdx",
        "DROP TABLE users;",
        "truncate table logs",
        "DELETE FROM users",
        "format c:",
        "del /f /s /q C:\\data",
        "rd /s /q C:\\data",
        "Remove-Item -Recurse -Force C:\\data",
    ],
)
def test_destructive_commands(text: str) -> None:
    assert COMMANDS.find(text)


@pytest.mark.parametrize(
    "text", ["ls -la", "rm notes.txt", "git push origin main", "the shutdown of a plant"]
)
def test_ordinary_commands_and_prose(text: str) -> None:
    assert COMMANDS.find(text) is None


def test_desktop_judges_the_stated_intent_of_triggering_actions() -> None:
    policy = SafetyPolicy()
    thought = "The cart is ready; now I pay for the order."
    for action in (Click(x=1, y=1), Drag(x=5, y=5, start_x=1, start_y=1), Hotkey(keys=("enter",))):
        risk = policy.assess(action, summary="Press the green button", thought=thought)
        assert risk is not None and risk.source == "thought" and risk.word == "pay"
    assert policy.assess(TypeText(text="ok\n"), summary="Confirm the purchase") is not None
    # Typing without a newline, or moving the pointer, triggers nothing.
    assert policy.assess(TypeText(text="ok then"), summary="Confirm the purchase") is None
    assert policy.assess(MoveTo(x=1, y=1), summary="Point at Buy") is None


def test_a_named_element_outweighs_the_models_words() -> None:
    policy = SafetyPolicy()
    next_button = ElementInfo(tag="button", text="Next", name="Next")
    assert policy.assess(Click(x=1, y=1), next_button, "Click to pay", thought="pay") is None
    canvas = ElementInfo(tag="canvas", interactive=False, graphic=True)
    assert policy.assess(Click(x=1, y=1), canvas, "Click the map") is None
    risk = policy.assess(Click(x=1, y=1), canvas, "Click the Pay now button")
    assert risk is not None and risk.question == "Click the Pay now button?"


def test_unknown_targets_ask_or_allow() -> None:
    frame = ElementInfo(tag="iframe", frame="https://pay.example/widget?x=1", unreadable=True)
    risk = SafetyPolicy().assess(Click(x=1, y=1), frame, "Click Next")
    assert (
        risk is not None
        and risk.question == "Click inside a frame from https://pay.example that cannot be read?"
    )
    assert SafetyPolicy(unknown_targets="allow").assess(Click(x=1, y=1), frame, "Click Next") is None


def test_a_custom_word_list_replaces_the_defaults() -> None:
    policy = SafetyPolicy(risky_words=["launch"])
    assert policy.assess(Click(x=1, y=1), ElementInfo(tag="button", name="Launch rocket")) is not None
    assert policy.assess(Click(x=1, y=1), ElementInfo(tag="button", name="Buy now")) is None
