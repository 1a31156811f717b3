"""Password hashing: Argon2id with parameters measured on the platform's machines.

Django's default PBKDF2 (1,000,000 SHA-256 rounds) costs about 0.25-0.5 s of CPU per sign-in:
a class of 30 signing in at once on a 2-core web host waited ~16 s each. Argon2id with
19 MiB of memory, 2 passes and 1 lane (OWASP's minimum recommendation, as strong against GPU
guessing as PBKDF2 at 600,000 rounds) costs about 20 ms of CPU (bench: docs/scaling.md), so
the same class signs in within a second. The memory cost, not the CPU time, is what slows an
attacker's GPUs.

Existing PBKDF2 hashes keep working: Django checks them with the PBKDF2 hasher listed after this
one and stores an Argon2id hash at the user's next successful sign-in. Changing the parameters
re-hashes the same way (`must_update`).
"""

from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher


class MeasuredArgon2PasswordHasher(Argon2PasswordHasher):
    """Django's Argon2id hasher with the platform's parameters (PASSWORD_ARGON2_* settings)."""

    time_cost = settings.PASSWORD_ARGON2_TIME_COST
    memory_cost = settings.PASSWORD_ARGON2_MEMORY_KIB
    parallelism = settings.PASSWORD_ARGON2_PARALLELISM
