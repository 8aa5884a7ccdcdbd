"""Encryption at rest for Shopify access and refresh tokens.

TOKEN_ENCRYPTION_KEY holds one or more Fernet keys separated by commas: the first encrypts,
all decrypt, so a key can be rotated without re-installing every shop.
"""
from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class TokenCipherError(Exception):
    pass


class TokenCipher:
    def __init__(self, keys: str):
        parts = [k.strip() for k in keys.split(",") if k.strip()]
        if not parts:
            raise TokenCipherError(
                "TOKEN_ENCRYPTION_KEY is not set. Generate one with: "
                "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'")
        try:
            self._primary = Fernet(parts[0].encode())
            self._fernet = MultiFernet([Fernet(k.encode()) for k in parts])
        except ValueError as exc:
            raise TokenCipherError(
                "TOKEN_ENCRYPTION_KEY must be 32 url-safe base64-encoded bytes (a Fernet key)") from exc

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._fernet.decrypt(ciphertext.encode()).decode()
        except InvalidToken as exc:
            raise TokenCipherError("stored token cannot be decrypted with TOKEN_ENCRYPTION_KEY") from exc

    def is_current(self, ciphertext: str) -> bool:
        """True when the first (encrypting) key already reads it: nothing to re-encrypt."""
        try:
            self._primary.decrypt(ciphertext.encode())
        except InvalidToken:
            return False
        return True

    def reencrypt(self, ciphertext: str) -> str:
        """Decrypt with any configured key, encrypt with the first (retiring the older keys)."""
        try:
            return self._fernet.rotate(ciphertext.encode()).decode()
        except InvalidToken as exc:
            raise TokenCipherError("stored token cannot be decrypted with any key in TOKEN_ENCRYPTION_KEY") from exc
