"""Changes to the structure that are more than a plain save."""

from waldur_do.errors import InvalidInput

from .keys import InvalidPublicKey, parse_public_key
from .models import SshPublicKey


def ssh_key_create(*, user, name: str, public_key: str) -> SshPublicKey:
    try:
        parsed = parse_public_key(public_key)
    except InvalidPublicKey as error:
        raise InvalidInput(str(error), field="public_key") from None
    if SshPublicKey.objects.filter(user=user, fingerprint_md5=parsed.fingerprint_md5).exists():
        raise InvalidInput("You already have this key.", field="public_key")
    return SshPublicKey.objects.create(
        user=user,
        name=name,
        public_key=public_key.strip(),
        fingerprint_md5=parsed.fingerprint_md5,
        fingerprint_sha256=parsed.fingerprint_sha256,
    )
