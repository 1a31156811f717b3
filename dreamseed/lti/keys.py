"""The school's tool key pair: made on first use, rotated by an admin, published as a JWKS.

Keys are made lazily, in the school's own schema, never in the template schema new schools are
cloned from (a key made there would be shared by every school).
"""

import json
from datetime import timedelta

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from jwcrypto.jwk import JWK

from dreamseed.lti.models import LtiToolKey

KEY_BITS = 2048
JWT_ALGORITHM = "RS256"


def _new_key_pair() -> tuple[str, str, str]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    # The kid is the key's thumbprint: the same value pylti1p3 puts in the JWT header it signs.
    kid = JWK.from_pem(public_pem.encode()).thumbprint()
    return kid, private_pem, public_pem


def tool_key_active() -> LtiToolKey:
    """The active key, made now if the school has none yet."""
    key = LtiToolKey.objects.filter(is_active=True).first()
    if key is not None:
        return key
    kid, private_pem, public_pem = _new_key_pair()
    try:
        with transaction.atomic():
            return LtiToolKey.objects.create(
                kid=kid, private_pem=private_pem, public_pem=public_pem
            )
    except IntegrityError:
        # Another request made one at the same moment (one active key per school): use it.
        return LtiToolKey.objects.get(is_active=True)


@transaction.atomic
def tool_key_rotate() -> LtiToolKey:
    """Retire the active key (kept in the JWKS for the grace period) and make a new one."""
    now = timezone.now()
    LtiToolKey.objects.select_for_update().filter(is_active=True).update(
        is_active=False, retired_at=now
    )
    kid, private_pem, public_pem = _new_key_pair()
    key = LtiToolKey.objects.create(kid=kid, private_pem=private_pem, public_pem=public_pem)
    # Keys retired long ago are of no use to anyone; drop them.
    LtiToolKey.objects.filter(is_active=False, retired_at__lt=now - 4 * key_grace_period()).delete()
    return key


def key_grace_period() -> timedelta:
    return timedelta(days=settings.LTI_KEY_GRACE_DAYS)


def tool_keys_published(now=None) -> list[LtiToolKey]:
    """The active key and those retired within the grace period."""
    now = now or timezone.now()
    tool_key_active()
    return list(
        LtiToolKey.objects.filter(is_active=True)
        | LtiToolKey.objects.filter(retired_at__gte=now - key_grace_period())
    )


def public_jwk(key: LtiToolKey) -> dict:
    jwk = json.loads(JWK.from_pem(key.public_pem.encode()).export_public())
    jwk.update({"kid": key.kid, "alg": JWT_ALGORITHM, "use": "sig"})
    return jwk


def tool_jwks() -> dict:
    return {"keys": [public_jwk(key) for key in tool_keys_published()]}
