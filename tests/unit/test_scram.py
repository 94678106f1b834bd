"""infra/scram.py against a verifier PostgreSQL 15 itself stored for a known password."""

import base64

from infra.scram import make_verifier, matches, saslprep_problem

PASSWORD = "correct horse battery staple"
# CREATE ROLE ... PASSWORD 'correct horse battery staple'; SELECT rolpassword ... (PostgreSQL 15)
POSTGRES_VERIFIER = (
    "SCRAM-SHA-256$4096:FxqzbmeijH8UIDDe4E46qQ==$Ca9fph8RB301I+MAzqPEP8Ify/9bBQm6iL5z9UPYkeU="
    ":dy8fwegXO0IgecntkKjY39Odp3cs3tDR8jR1iR2Lk0k="
)


def test_recognises_postgres_verifier():
    assert matches(PASSWORD, POSTGRES_VERIFIER)


def test_rejects_another_password():
    assert not matches("correct horse battery stapler", POSTGRES_VERIFIER)


def test_makes_the_same_verifier_as_postgres_for_the_same_salt():
    salt = base64.b64decode("FxqzbmeijH8UIDDe4E46qQ==")
    assert make_verifier(PASSWORD, salt) == POSTGRES_VERIFIER


def test_fresh_verifiers_are_salted_differently():
    assert make_verifier(PASSWORD) != make_verifier(PASSWORD)


def test_no_stored_password_matches_nothing():
    assert not matches(PASSWORD, None)


def test_md5_or_garbage_never_matches():
    assert not matches(PASSWORD, "md5abcdef") and not matches(PASSWORD, "SCRAM-SHA-256$x")


# CREATE ROLE ... PASSWORD 'Ⅸ café ﬁle' (PostgreSQL 15): the server applies SASLprep (NFKC:
# Ⅸ -> IX, ﬁ -> fi) before hashing, as its clients do.
NON_ASCII = "Ⅸ café ﬁle"
NON_ASCII_VERIFIER = (
    "SCRAM-SHA-256$4096:4Ce/lqdrmCFdvJywjG52EQ==$3kLW9dcYG5DuDp41TTWosQfbs3vZGjLy2y0yPTKx0Rs="
    ":Bbx1osVgWOqmz6gm/lmMdUiq/QwKtC+tJz0+sipOw04="
)


def test_a_non_ascii_password_matches_after_saslprep():
    assert matches(NON_ASCII, NON_ASCII_VERIFIER)


def test_a_non_ascii_verifier_is_the_one_postgres_makes():
    salt = base64.b64decode("4Ce/lqdrmCFdvJywjG52EQ==")
    assert make_verifier(NON_ASCII, salt) == NON_ASCII_VERIFIER


def test_a_password_saslprep_refuses_is_named_without_its_value():
    problem = saslprep_problem("private-use-\ue000-secret")
    assert problem and "SASLprep" in problem and "secret" not in problem
