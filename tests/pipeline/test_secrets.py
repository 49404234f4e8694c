import pytest
from cryptography.fernet import Fernet

from meshplatform.errors import Invalid
from meshplatform.secrets import (
    SecretUnreadable,
    check_url,
    decrypt,
    encrypt,
    hide_secrets,
    points_at_database,
    redact_url,
)

URL = "postgresql://sales:hunter2-secret@db.internal:5432/sales?sslmode=require"


def test_encrypt_round_trips_and_the_token_does_not_show_the_text() -> None:
    key = Fernet.generate_key()
    token = encrypt(URL, key)
    assert "hunter2" not in token
    assert decrypt(token, key) == URL


def test_decrypt_with_another_key_fails_without_the_secret_in_the_message() -> None:
    token = encrypt(URL, Fernet.generate_key())
    with pytest.raises(SecretUnreadable) as raised:
        decrypt(token, Fernet.generate_key())
    assert "hunter2" not in str(raised.value)


def test_decrypt_refuses_a_tampered_token() -> None:
    key = Fernet.generate_key()
    token = encrypt(URL, key)
    tampered = token[:-5] + ("A" if token[-5] != "A" else "B") + token[-4:]
    with pytest.raises(SecretUnreadable):
        decrypt(tampered, key)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (URL, "postgresql://sales:***@db.internal:5432/sales?sslmode=require"),
        ("redis://:hunter2-secret@cache:6379/0", "redis://:***@cache:6379/0"),
        ("rediss://default:hunter2-secret@cache:6380", "rediss://default:***@cache:6380"),
        ("postgres://sales:p@ss@word@db/sales", "postgres://sales:***@db/sales"),
        ("postgres://sales@db/sales", "postgres://sales@db/sales"),
        (
            "postgres://db/sales?user=sales&password=hunter2-secret&sslpassword=x&sslmode=verify-full",
            "postgres://db/sales?user=sales&sslmode=verify-full",
        ),
        ("host=db password=hunter2-secret", "***"),
    ],
)
def test_redact_url_hides_the_password_and_secret_parameters(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_hide_secrets_removes_the_password_also_percent_decoded() -> None:
    url = "postgres://sales:hunter%2Fsecret@db/sales"
    message = "auth failed for hunter/secret (hunter%2Fsecret) at postgres://sales:hunter%2F"
    hidden = hide_secrets(message, url)
    assert "hunter/secret" not in hidden
    assert "hunter%2Fsecret" not in hidden


@pytest.mark.parametrize(
    ("kind", "url"),
    [
        ("postgres", URL),
        ("postgres", "postgres://db"),
        ("postgres", "postgresql://u:p@h1:5432,h2:5433/db"),
        ("postgres", "postgresql://u:p@[::1]:5432/db"),
        ("redis", "redis://:secret@cache:6379/0"),
        ("redis", "rediss://cache"),
    ],
)
def test_check_url_accepts_urls_of_the_connection_kind(kind: str, url: str) -> None:
    check_url(kind, url)


@pytest.mark.parametrize(
    ("kind", "url"),
    [
        ("postgres", "mysql://u:hunter2-secret@db/sales"),
        ("postgres", "postgresql://u:hunter2-secret@/sales"),
        ("postgres", "postgresql://u:hunter2-secret@db:port/sales"),
        ("postgres", "host=db password=hunter2-secret"),
        ("postgres", "redis://:hunter2-secret@cache"),
        ("redis", "http://:hunter2-secret@cache"),
        ("redis", "postgresql://u:hunter2-secret@db/sales"),
        ("redis", ""),
    ],
)
def test_check_url_rejects_other_urls_on_the_url_field_without_quoting_them(
    kind: str, url: str
) -> None:
    with pytest.raises(Invalid) as raised:
        check_url(kind, url)
    assert set(raised.value.fields) == {"url"}
    assert "hunter2" not in str(raised.value.as_dict())


def test_check_url_rejects_an_unknown_kind() -> None:
    with pytest.raises(Invalid) as raised:
        check_url("mysql", "mysql://db")
    assert set(raised.value.fields) == {"kind"}


@pytest.mark.parametrize(
    ("url", "parameter"),
    [
        ("postgresql://u:hunter2-secret@db/sales?host=/var/run/postgresql", "host"),
        ("postgresql://u:hunter2-secret@db/sales?passfile=/root/.pgpass", "passfile"),
        ("postgresql://u:hunter2-secret@db/sales?service=platform", "service"),
        ("postgresql://u:hunter2-secret@db/sales?sslmode=require&sslkey=/root/key", "sslkey"),
        ("postgresql://u:hunter2-secret@db/sales?options=-cdefault_transaction_read_only%3Doff",
         "options"),
        ("postgresql://u:hunter2-secret@db/sales?hostaddr=10.0.0.1", "hostaddr"),
        ("postgresql://u:hunter2-secret@db/sales?password=hunter2-secret", "password"),
    ],
)  # fmt: skip
def test_check_url_allows_only_sslmode_connect_timeout_and_application_name(
    url: str, parameter: str
) -> None:
    with pytest.raises(Invalid) as raised:
        check_url("postgres", url)
    assert set(raised.value.fields) == {"url"}
    assert f"'{parameter}'" in raised.value.fields["url"]
    assert "hunter2" not in str(raised.value.as_dict())


def test_check_url_accepts_the_allowed_parameters() -> None:
    check_url(
        "postgres",
        "postgresql://u:p@db/sales?sslmode=verify-full&connect_timeout=5&application_name=mesh",
    )


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://u:hunter2-secret@%2Fvar%2Frun%2Fpostgresql/sales",
        "postgresql://u:hunter2-secret@%2fvar%2frun%2fpostgresql:5432/sales",
        "postgresql://u:hunter2-secret@db,%2Ftmp/sales",
        "postgresql://u:hunter2-secret@%40abstract-socket/sales",
        # libpq takes the first "@", urlsplit the last: the host libpq sees is /tmp@db.
        "postgresql://u:hunter2-secret@%2Ftmp@db/sales",
        # libpq knows no fragment: this is a `host` parameter to it.
        "postgresql://u:hunter2-secret@db/sales#?host=/tmp",
        "postgresql://u:hunter2-secret@:5432/sales",
        "postgresql:///sales",
        "postgresql://u:hunter2-secret@db/sales?ssl=true&host=",
        "redis+unix://:hunter2-secret@/var/run/redis.sock",
        "unix://:hunter2-secret@/var/run/redis.sock?db=0",
    ],
)
def test_check_url_refuses_unix_sockets_and_empty_hosts(url: str) -> None:
    kind = "redis" if "unix" in url else "postgres"
    with pytest.raises(Invalid) as raised:
        check_url(kind, url)
    assert set(raised.value.fields) == {"url"}
    assert "hunter2" not in str(raised.value.as_dict())


@pytest.mark.parametrize(
    ("url", "same"),
    [
        ("postgresql://u:p@localhost:5432/mesh", True),
        ("postgresql://u:p@127.0.0.1/mesh", True),  # the default port
        ("postgresql://u:p@[::1]:5432/mesh", True),
        ("postgresql://u:p@db.elsewhere,127.0.0.1:5432/mesh", True),  # one of a host list
        ("postgresql://u:p@127.0.0.1:5432/", False),  # no name: libpq takes the user's, u
        ("postgresql://mesh:p@127.0.0.1:5432/", True),  # ... which is the database's
        ("postgresql://u:p@127.0.0.1:5433/mesh", False),
        ("postgresql://u:p@127.0.0.1:5432/other", False),
        ("postgresql://u:p@db.internal:5432/mesh", False),
    ],
)
def test_points_at_database_sees_the_same_server_under_its_other_names(
    url: str, same: bool
) -> None:
    assert points_at_database(url, host="localhost", port="", name="mesh") is same
