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
