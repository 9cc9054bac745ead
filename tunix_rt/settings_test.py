"""Test settings: the real settings plus speed overrides only."""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("TUNIX_RT_ENV_FILE", "")
os.environ.setdefault("SECRET_KEY", "test-only-secret-key")
os.environ.setdefault("ARTIFACTS_DIR", tempfile.mkdtemp(prefix="tunix-rt-test-artifacts-"))

from tunix_rt.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
