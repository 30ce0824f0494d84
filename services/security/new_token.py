"""`python -m services.security.new_token <read|admin> [name] >> tokens`: make an API token.

The tokens-file line (role and hash) goes to stdout, ready to append; the token itself goes
to stderr, for the operator to hand to the client. It is stored nowhere.
"""

from __future__ import annotations

import argparse
import secrets
import sys

from services.security.api_tokens import Role, token_sha256_hex

# 256 bits: far beyond guessing, which is why tokens are hashed with plain SHA-256.
TOKEN_BYTES = 32


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m services.security.new_token")
    parser.add_argument("role", choices=[role.name.lower() for role in Role])
    parser.add_argument("name", nargs="?", default="", help="a label for the tokens file (no spaces)")
    args = parser.parse_args(argv)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    print(f"{args.role} {token_sha256_hex(token)} {args.name}".rstrip())
    print(f"token (give it to the client; it is not stored): {token}", file=sys.stderr)


if __name__ == "__main__":
    main()
