"""The accounts store on a real SQLite file: registration, one-time sign-in tokens, API keys and revocation."""

from __future__ import annotations

import sqlite3

import pytest

from api.access import KeyStore
from api.accounts import MAX_KEYS_PER_ACCOUNT, AccountError, Accounts, normalize_email

pytestmark = [pytest.mark.store]


@pytest.fixture
def accounts(tmp_path) -> Accounts:
    return Accounts(tmp_path / "accounts.sqlite")


def test_email_is_checked_and_its_domain_lowercased():
    assert normalize_email("  Coder@Clinic.EXAMPLE ") == "Coder@clinic.example"
    for bad in ("", "coder", "coder@", "@clinic.example", "a b@clinic.example", "coder@clinic", "x" * 300):
        with pytest.raises(AccountError):
            normalize_email(bad)


def test_registering_twice_is_the_same_account(accounts):
    first = accounts.register("coder@clinic.example")
    assert accounts.register("coder@CLINIC.example").id == first.id
    assert accounts.register("other@clinic.example").id != first.id


def test_sign_in_tokens_work_once_and_expire(accounts, tmp_path):
    account = accounts.register("coder@clinic.example")
    token = accounts.issue_sign_in_token(account, minutes=30)
    assert token not in (tmp_path / "accounts.sqlite").read_bytes().decode("latin-1")  # stored hashed
    assert accounts.redeem(token).id == account.id
    assert accounts.redeem(token) is None  # spent
    expired = accounts.issue_sign_in_token(account, minutes=0)
    assert accounts.redeem(expired) is None
    assert accounts.redeem("made-up") is None and accounts.redeem("") is None


def test_account_keys_verify_through_the_key_store_until_revoked(accounts, tmp_path):
    account = accounts.register("coder@clinic.example")
    key = accounts.create_key(account, "  laptop  ")
    store = KeyStore(None, accounts)
    principal = store.verify(key)
    assert principal.tier == "registered" and principal.name == f"account:{account.id}"
    assert store.verify(key[:-1] + ("a" if key[-1] != "a" else "b")) is None
    secret = key.split("_", 2)[2]
    with sqlite3.connect(tmp_path / "accounts.sqlite") as db:
        assert secret not in " ".join(str(v) for row in db.execute("SELECT * FROM api_keys") for v in row)
    [listed] = accounts.keys(account)
    assert listed.name == "laptop" and listed.revoked is None
    other = accounts.register("other@clinic.example")
    assert not accounts.revoke_key(other, listed.id)  # not theirs
    assert accounts.revoke_key(account, listed.id)
    assert store.verify(key) is None
    assert not accounts.revoke_key(account, listed.id)  # already revoked


def test_an_account_holds_a_bounded_number_of_keys(accounts):
    account = accounts.register("many@clinic.example")
    for number in range(MAX_KEYS_PER_ACCOUNT):
        accounts.create_key(account, f"k{number}")
    with pytest.raises(AccountError):
        accounts.create_key(account, "one too many")
