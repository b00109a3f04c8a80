"""The OPC UA user file: salted password hashes, written for its owner's eyes only."""

from __future__ import annotations

import base64
import stat

import pytest

from twin.control.opcua_users import add_user, check, load_users
from twin.errors import TwinError


def test_a_user_added_logs_in_with_the_password_and_not_with_another(tmp_path):
    users = tmp_path / "users.txt"
    add_user(users, "operator", "s3cret pass")
    assert check(users, "operator", "s3cret pass") is True
    assert check(users, "operator", "s3cret pasS") is False
    assert check(users, "nobody", "s3cret pass") is False


def test_the_file_is_readable_text_without_the_password_and_private_to_its_owner(tmp_path):
    users = tmp_path / "users.txt"
    add_user(users, "operator", "s3cret pass")
    text = users.read_text()
    assert "s3cret" not in text
    [line] = text.splitlines()
    name, _, stored = line.partition(":")
    algorithm, params, salt, digest = stored.split("$")
    assert (name, algorithm, params) == ("operator", "scrypt", "n=16384,r=8,p=1")
    assert len(base64.b64decode(salt)) == 16 and len(base64.b64decode(digest)) == 32
    assert stat.S_IMODE(users.stat().st_mode) == 0o600


def test_each_user_has_a_salt_of_their_own(tmp_path):
    users = tmp_path / "users.txt"
    add_user(users, "anna", "same password")
    add_user(users, "ben", "same password")
    stored = load_users(users)
    assert stored["anna"] != stored["ben"]
    assert check(users, "anna", "same password") and check(users, "ben", "same password")


def test_adding_a_name_again_replaces_its_password_and_keeps_the_others(tmp_path):
    users = tmp_path / "users.txt"
    add_user(users, "anna", "first")
    add_user(users, "ben", "bens")
    add_user(users, "anna", "second")
    assert list(load_users(users)) == ["ben", "anna"]
    assert check(users, "anna", "second") and not check(users, "anna", "first")
    assert check(users, "ben", "bens")


def test_rewriting_a_file_others_could_read_makes_it_private(tmp_path):
    users = tmp_path / "users.txt"
    users.write_text("# operators of line 3\n")
    users.chmod(0o644)
    add_user(users, "anna", "pw")
    assert stat.S_IMODE(users.stat().st_mode) == 0o600
    assert users.read_text().startswith("# operators of line 3\n")


def test_a_missing_file_says_how_to_create_one(tmp_path):
    with pytest.raises(TwinError, match=r"does not exist; create it with `twin plant --add-user"):
        check(tmp_path / "none.txt", "anna", "pw")


@pytest.mark.parametrize(
    "line, problem",
    [
        ("anna scrypt$x", "does not start with a user name and a colon"),
        ("anna:md5$abc", "is not scrypt\\$params\\$salt\\$hash"),
        ("anna:scrypt$n=16384$c2FsdHNhbHQ=$aGFzaA==", "cannot be read"),
        ("anna:scrypt$n=3,r=8,p=1$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNoaGFzaA==", "out of range"),
    ],
)
def test_a_malformed_line_is_named_by_its_number(tmp_path, line, problem):
    users = tmp_path / "users.txt"
    add_user(users, "ben", "pw")
    users.write_text(users.read_text() + "\n" + line + "\n")
    with pytest.raises(TwinError, match=rf"users.txt:3: .*{problem}"):
        load_users(users)
    with pytest.raises(TwinError, match=r"users.txt:3: "):
        add_user(users, "carl", "pw")  # a broken file is not rewritten


def test_names_and_passwords_that_cannot_be_stored_are_refused(tmp_path):
    with pytest.raises(TwinError, match=r"user name 'a:b' is not allowed"):
        add_user(tmp_path / "users.txt", "a:b", "pw")
    with pytest.raises(TwinError, match=r"password for 'anna' is empty"):
        add_user(tmp_path / "users.txt", "anna", "")
