"""The export signing key (KMS Sign over a SHA-256 digest; GetPublicKey as PEM)."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from mailroom.exports import KEY_SPEC, SIGNING_ALGORITHM, der_to_pem

if TYPE_CHECKING:
    from mypy_boto3_kms import KMSClient


class KmsSigner:
    """`ports.ExportSigner` over an asymmetric SIGN_VERIFY key of spec ECC_NIST_P256."""

    def __init__(self, client: KMSClient, key_id: str) -> None:
        self._kms = client
        self._key_id = key_id

    @property
    def key_id(self) -> str:
        return self._key_id

    @cached_property
    def _public(self) -> bytes:
        answer = self._kms.get_public_key(KeyId=self._key_id)
        if answer.get("KeyUsage") != "SIGN_VERIFY":
            raise ValueError(f"KMS key {self._key_id} is not a signing key (SIGN_VERIFY)")
        # moto 5.2 answers only the deprecated CustomerMasterKeySpec.
        spec = str(answer.get("KeySpec") or answer.get("CustomerMasterKeySpec"))  # type: ignore[redundant-expr,unreachable,unused-ignore]
        if spec != KEY_SPEC:
            raise ValueError(f"KMS key {self._key_id} is {spec}: exports sign with {KEY_SPEC}")
        return der_to_pem(answer["PublicKey"])

    def public_key_pem(self) -> bytes:
        return self._public

    def sign(self, message: bytes) -> bytes:
        self._public  # noqa: B018 (checks the key's spec before it signs anything)
        answer = self._kms.sign(
            KeyId=self._key_id,
            Message=message,
            MessageType="RAW",
            SigningAlgorithm=SIGNING_ALGORITHM,
        )
        return answer["Signature"]
