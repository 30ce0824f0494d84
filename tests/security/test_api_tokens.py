"""API tokens: only hashes are accepted, roles resolve, the file rotates without a restart."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from services.security.api_tokens import MAX_TOKEN_CHARS, ApiTokens, Role, TokensFormatError, token_sha256_hex
from services.security.new_token import main as new_token_main


def write_atomically(path: Path, text: str) -> None:
    """As an operator's deploy tool would: a reader sees the old file or the new one."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def test_roles_resolve_from_hashes_and_unknown_tokens_do_not() -> None:
    tokens = ApiTokens(
        env_text=f"read {token_sha256_hex('r-token')}, admin {token_sha256_hex('a-token')} ops"
    )
    assert tokens.role_of("r-token") is Role.READ
    assert tokens.role_of("a-token") is Role.ADMIN
    assert tokens.role_of("nope") is None
    assert tokens.role_of("") is None
    assert tokens.role_of("a" * (MAX_TOKEN_CHARS + 1)) is None


def test_a_token_listed_twice_gets_its_highest_role() -> None:
    digest = token_sha256_hex("both")
    assert ApiTokens(env_text=f"read {digest}\nadmin {digest}").role_of("both") is Role.ADMIN


@pytest.mark.parametrize(
    "text",
    [
        "admin",  # no hash
        "owner " + "0" * 64,  # unknown role
        "admin not-a-token-hash-but-the-token",  # a plaintext token is refused, not hashed for you
        "admin " + "0" * 63,  # short hash
        "admin " + "0" * 64 + " name extra",  # too many fields
    ],
)
def test_malformed_entries_are_refused(text: str) -> None:
    with pytest.raises(TokensFormatError):
        ApiTokens(env_text=text)


def test_comments_and_blank_lines_are_ignored() -> None:
    text = f"# operators\n\nadmin {token_sha256_hex('t')}  # rotated monthly\n"
    assert ApiTokens(env_text=text).role_of("t") is Role.ADMIN


def test_a_missing_tokens_file_is_refused_at_start(tmp_path: Path) -> None:
    with pytest.raises(TokensFormatError):
        ApiTokens(file=tmp_path / "absent")


def test_rewriting_the_file_rotates_tokens_without_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "tokens"
    write_atomically(path, f"admin {token_sha256_hex('old')}\n")
    tokens = ApiTokens(file=path)
    assert tokens.role_of("old") is Role.ADMIN

    write_atomically(path, f"read {token_sha256_hex('new')}\n")
    assert tokens.role_of("new") is Role.READ
    assert tokens.role_of("old") is None


def test_a_broken_rewrite_keeps_the_last_good_tokens(tmp_path: Path) -> None:
    path = tmp_path / "tokens"
    write_atomically(path, f"admin {token_sha256_hex('good')}\n")
    tokens = ApiTokens(file=path)
    write_atomically(path, "admin plaintext-by-mistake\n")
    assert tokens.role_of("good") is Role.ADMIN
    path.unlink()
    assert tokens.role_of("good") is Role.ADMIN


def test_an_emptied_file_lets_nobody_in(tmp_path: Path) -> None:
    """Configured-but-empty is not unconfigured: the APIs stay closed."""
    path = tmp_path / "tokens"
    write_atomically(path, f"admin {token_sha256_hex('t')}\n")
    tokens = ApiTokens(file=path)
    write_atomically(path, "")
    assert tokens.role_of("t") is None


def test_new_token_prints_the_line_and_keeps_the_token_off_stdout(
    capsys: pytest.CaptureFixture[str],
) -> None:
    new_token_main(["read", "dashboards"])
    out, err = capsys.readouterr()
    token = err.strip().rsplit(" ", 1)[1]
    assert token not in out
    assert ApiTokens(env_text=out).role_of(token) is Role.READ
