"""Password hashes: argon2 for new ones; an old scrypt hash, or an argon2 one with outdated
parameters, still checks and is replaced by a fresh hash; nothing malformed ever matches."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher, Type, profiles

from engine.accounts.users import check_password, hash_password, rehashed


def test_a_new_hash_is_argon2_and_checks_only_its_password():
    stored = hash_password("s3cret")
    assert stored.startswith("$argon2id$")
    assert check_password("s3cret", stored)
    assert not check_password("s3cre", stored) and not check_password("", stored)
    assert rehashed("s3cret", stored) is None  # made with the current parameters: kept


def test_an_old_scrypt_hash_checks_and_is_rehashed_to_argon2(scrypt_hash):
    old = scrypt_hash("s3cret")
    assert check_password("s3cret", old)
    assert not check_password("wrong", old)
    fresh = rehashed("s3cret", old)
    assert fresh.startswith("$argon2id$") and check_password("s3cret", fresh)
    assert rehashed("s3cret", fresh) is None


def test_an_argon2_hash_with_other_parameters_is_rehashed():
    older = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1).hash("s3cret")
    assert check_password("s3cret", older)  # the parameters are read from the hash
    fresh = rehashed("s3cret", older)
    assert fresh is not None and fresh != older and rehashed("s3cret", fresh) is None


@pytest.mark.parametrize("stored", ["", "x", "scrypt$zz$00", "scrypt$00", "scrypt$00$11$22",
                                    "$argon2id$v=19$m=8,t=1,p=1$broken"])
def test_a_malformed_hash_never_matches(stored):
    assert not check_password("demo", stored)


def test_production_hashes_with_argon2_cffis_defaults(cheap_password_hashes):
    """Only the tests lower the cost (tests/conftest.py)."""
    production = cheap_password_hashes
    default = profiles.RFC_9106_LOW_MEMORY
    assert production.type is Type.ID
    assert (production.time_cost, production.memory_cost, production.parallelism) == (
        default.time_cost, default.memory_cost, default.parallelism)
