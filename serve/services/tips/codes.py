"""Tip codes and secrets: what a tipster keeps instead of a name.

Both use Crockford's base 32 (digits and letters without I, L, O, U), so they survive being
read aloud, written on paper and typed on a phone: input is upper-cased, spaces and dashes are
dropped, and I/L read as 1, O as 0. A **code** (8 symbols, 40 bits) names the tip and may be
shown to anyone; a **secret** (12 symbols, 60 bits, made on the phone or by the server) proves
the holder sent it.

Unlike an API key's 256-bit secret (``keys.py``, a fast hash is right there), a secret short
enough to copy by hand could be brute-forced offline from a fast hash if the database leaked,
so it is stored as a salted **scrypt** hash (stdlib ``hashlib.scrypt``, n=2^14, r=8: about
16 MB and tens of milliseconds per check, which the public rate limits make affordable).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 8
SECRET_LENGTH = 12
MAX_SECRET_LENGTH = 32
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
_SANE = re.compile(r"^[0-9A-Z]+$")
_READ_AS = str.maketrans({"I": "1", "L": "1", "O": "0"})


def _random(length: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def new_code() -> str:
    return _random(CODE_LENGTH)


def new_secret() -> str:
    return _random(SECRET_LENGTH)


def normalise(text: str) -> str:
    """``" ab1l-o9xz "`` → ``"AB1109XZ"``: what was meant, canonically."""
    return re.sub(r"[\s\-]", "", text).upper().translate(_READ_AS)


def valid_code(code: str) -> bool:
    return len(code) == CODE_LENGTH and bool(_SANE.match(code)) and "U" not in code


def valid_secret(secret: str) -> bool:
    return (
        SECRET_LENGTH <= len(secret) <= MAX_SECRET_LENGTH
        and bool(_SANE.match(secret))
        and "U" not in secret
    )


def group(text: str, size: int = 4) -> str:
    """``ABCD1234WXYZ`` → ``ABCD-1234-WXYZ`` for display."""
    return "-".join(text[i : i + size] for i in range(0, len(text), size))


def hash_secret(secret: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, dklen=32, **_SCRYPT)
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${salt.hex()}${digest.hex()}"


def verify_secret(secret: str, stored: str) -> bool:
    """Constant-time check of a (normalised) secret against :func:`hash_secret`'s output."""
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        candidate = hashlib.scrypt(
            secret.encode(), salt=bytes.fromhex(salt), dklen=32, n=int(n), r=int(r), p=int(p)
        )
    except ValueError:
        return False
    return hmac.compare_digest(candidate.hex(), digest)


# A fixed hash to verify against when a code is unknown, so that "no such code" and "wrong
# secret" take the same time and give the same answer (no oracle for valid codes).
DUMMY_HASH = hash_secret(new_secret())
