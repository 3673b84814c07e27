import pytest

from service.config import Config
from service.http.auth import bearer_token, hash_token, new_token


def test_settings_from_environment():
    config = Config.from_env(
        {"DATABASE_URL": "postgresql://db/x", "PORT": "9000", "MAX_BATCH_RECORDS": "10", "SHUTDOWN_TIMEOUT_S": "2.5"}
    )
    assert config.database_url == "postgresql://db/x"
    assert config.port == 9000
    assert config.max_batch_records == 10
    assert config.shutdown_timeout_s == 2.5
    assert config.max_body_bytes == 10 * 1024 * 1024


def test_a_yes_no_setting_is_1_or_0():
    assert Config.from_env({"ALLOW_STATEMENT_LOGGING": "1"}).allow_statement_logging is True
    assert Config.from_env({"ALLOW_STATEMENT_LOGGING": "0"}).allow_statement_logging is False
    with pytest.raises(ValueError, match="ALLOW_STATEMENT_LOGGING must be 1 or 0"):
        Config.from_env({"ALLOW_STATEMENT_LOGGING": "maybe"})


def test_defaults():
    assert Config.from_env({}) == Config()


def test_tokens_are_random_and_hashed_with_sha256():
    assert new_token() != new_token()
    assert hash_token("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_bearer_token():
    assert bearer_token("Bearer abc") == "abc"
    assert bearer_token("bearer   abc ") == "abc"
    assert bearer_token("Basic abc") is None
    assert bearer_token("Bearer") is None
    assert bearer_token("") is None
    assert bearer_token(None) is None
