"""Connection secrets: encrypted at rest, redacted for display, kept out of messages.

Pure Python: the caller passes the key (`meshplatform.keys.secrets_key()`), so the sources
and tests use this without Django. A URL's password is the secret; nothing here puts the URL
it was given into an exception message.

A postgres URL is also read by libpq itself (`conninfo_to_dict`) before it is accepted: libpq
and `urlsplit` disagree on some URLs (the first "@" or the last, "#"), and only libpq's reading
is the one the worker will connect with.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

import psycopg
from cryptography.fernet import Fernet, InvalidToken
from psycopg.conninfo import conninfo_to_dict

from meshplatform.errors import Invalid

URL_MAX = 2000
SCHEMES = {"postgres": ("postgres", "postgresql"), "redis": ("redis", "rediss")}
REDACTED = "***"
# Query parameters that carry a secret (libpq's `password`, `sslpassword`, tokens of proxies).
SECRET_PARAMETERS = ("password", "passwd", "pwd", "secret", "token", "apikey", "api_key")
# The only query parameters a postgres URL may carry. The others reach the worker's own files
# or identity (host=/a/socket, passfile, service, sslkey, krbsrvname) or change the session
# (options); the worker connects as itself to whatever they name.
POSTGRES_PARAMETERS = ("sslmode", "connect_timeout", "application_name")
_POSTGRES_LOCATION = ("host", "port", "dbname", "user", "password")
DEFAULT_PORT = "5432"


class SecretUnreadable(Exception):
    """A stored secret does not decrypt with the key: SECRETS_KEY (or SECRET_KEY) changed."""


def encrypt(text: str, key: bytes) -> str:
    """A Fernet token (authenticated, timestamped) for `text`, as text for a TextField."""
    return Fernet(key).encrypt(text.encode()).decode("ascii")


def decrypt(token: str, key: bytes) -> str:
    """The text `encrypt` was given; SecretUnreadable on a wrong key or a tampered token."""
    try:
        return Fernet(key).decrypt(token.encode("ascii")).decode()
    except (InvalidToken, UnicodeError):
        raise SecretUnreadable(
            "A stored connection secret cannot be decrypted: was SECRETS_KEY changed?"
        ) from None


def redact_url(url: str) -> str:
    """The URL with its password shown as *** and secret query parameters removed.

    Anything that is not `scheme://...` is redacted entirely: we cannot tell where its
    secret is.
    """
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return REDACTED
    if not parts.scheme or not url.strip().lower().startswith(f"{parts.scheme}://"):
        return REDACTED
    # rpartition: a password with an unescaped "@" still ends at the last one.
    userinfo, at, hosts = parts.netloc.rpartition("@")
    netloc = parts.netloc
    if at:
        user, colon, _ = userinfo.partition(":")
        netloc = f"{user}:{REDACTED}@{hosts}" if colon else f"{user}@{hosts}"
    query = urlencode(
        [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _secret(k)]
    )
    return f"{parts.scheme}://{netloc}{parts.path}" + (f"?{query}" if query else "")


def hide_secrets(text: str, url: str) -> str:
    """`text` (a driver's error message) with the URL's password and the URL itself removed."""
    for secret in sorted(_secrets_of(url), key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


def check_url(kind: str, url: str) -> None:
    """Raise Invalid (on `url`, never quoting it) unless the URL suits a connection of `kind`."""
    schemes = SCHEMES.get(kind)
    if schemes is None:
        raise Invalid("Unknown kind of connection.", fields={"kind": "postgres or redis."})
    example = {
        "postgres": "postgresql://user:password@host:5432/database",
        "redis": "redis://:password@host:6379/0 (rediss:// for TLS)",
    }[kind]
    problem = f"Expected a URL like {example}."
    if not isinstance(url, str) or not url.strip() or len(url) > URL_MAX:
        raise Invalid("The connection URL is not valid.", fields={"url": problem})
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        raise Invalid("The connection URL is not valid.", fields={"url": problem}) from None
    if parts.scheme.lower() not in schemes or not url.strip().lower().startswith(
        f"{parts.scheme.lower()}://"
    ):
        raise Invalid(
            "The connection URL is not valid.",
            fields={"url": f"The scheme must be {' or '.join(schemes)}. {problem}"},
        )
    if kind == "postgres" and not _has_hosts(parts.netloc):
        raise Invalid(
            "The connection URL is not valid.",
            fields={"url": f"The URL needs a host (and optionally :port). {problem}"},
        )
    if kind == "postgres":
        _check_postgres(url, parts.query, problem)


def points_at_database(url: str, *, host: str, port: str, name: str) -> bool:
    """Whether a postgres URL (one `check_url` accepted) may reach database `name` at host:port.

    localhost, loopback addresses and a socket directory count as one host; a URL without a
    database name may mean any (libpq then uses the worker's user name).
    """
    parameters = _libpq_parameters(url, "")
    database = parameters.get("dbname") or parameters.get("user")
    if database is not None and database != name:
        return False
    hosts = parameters.get("host", "").split(",")
    ports = parameters.get("port", "").split(",")
    if len(ports) == 1:
        ports *= len(hosts)
    target = _server(host, port)
    return any(_server(h, p) == target for h, p in zip(hosts, ports, strict=False))


def _check_postgres(url: str, query: str, problem: str) -> None:
    parameters = _libpq_parameters(url, problem)
    names = [name for name, _ in parse_qsl(query, keep_blank_values=True)]
    names += [name for name in parameters if name not in _POSTGRES_LOCATION]
    for name in names:
        if name in POSTGRES_PARAMETERS:
            continue
        # A name libpq did not read as one of its keywords is the user's text: maybe a secret.
        which = f"The parameter {name!r}" if name in parameters else "A parameter"
        raise Invalid(
            "The connection URL is not valid.",
            fields={
                "url": f"{which} is not allowed: only {', '.join(POSTGRES_PARAMETERS)} may "
                "follow the '?'."
            },
        )
    hosts = parameters.get("host", "").split(",")
    if any(not host or host.startswith(("/", "@")) for host in hosts):
        raise Invalid(
            "The connection URL is not valid.",
            fields={"url": f"Each host must be a name or an address, not a Unix socket. {problem}"},
        )


def _libpq_parameters(url: str, problem: str) -> dict[str, str]:
    try:
        return {name: str(value) for name, value in conninfo_to_dict(url).items()}
    except psycopg.Error:
        # libpq's message can quote the URL.
        raise Invalid(
            "The connection URL is not valid.",
            fields={"url": f"PostgreSQL cannot read this URL. {problem}"},
        ) from None


def _server(host: str, port: str) -> tuple[str, str]:
    """A host:port as compared: every name for this machine is "local", the port defaulted."""
    name = host.strip().lower().rstrip(".")
    port = port.strip() or DEFAULT_PORT
    return ("local" if _is_local(name) else name, str(int(port)) if port.isdigit() else port)


def _is_local(name: str) -> bool:
    if name in ("", "localhost") or name.startswith("/"):  # no host: libpq's local socket
        return True
    try:
        address = ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or address.is_unspecified or bool(mapped and mapped.is_loopback)


def _secret(parameter: str) -> bool:
    name = parameter.lower()
    return any(marker in name for marker in SECRET_PARAMETERS)


def _secrets_of(url: str) -> set[str]:
    secrets = {url, url.strip()}
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return {s for s in secrets if s}
    userinfo, at, _ = parts.netloc.rpartition("@")
    if at and ":" in userinfo:
        password = userinfo.partition(":")[2]
        secrets |= {password, unquote(password)}
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if _secret(name):
            secrets.add(value)
    # A one-character "secret" would blank out every occurrence of that letter.
    return {s for s in secrets if len(s) > 1}


def _has_hosts(netloc: str) -> bool:
    """libpq accepts `host1:port1,host2:port2`; each needs a host, and a port must be a number."""
    hosts = netloc.rpartition("@")[2]
    if not hosts:
        return False
    for item in hosts.split(","):
        if item.startswith("["):  # an IPv6 address: [::1]:5432
            address, bracket, rest = item[1:].partition("]")
            if not (address and bracket) or (rest and not _port(rest)):
                return False
            continue
        host, colon, port = item.partition(":")
        if not host or (colon and not port.isdigit()):
            return False
    return True


def _port(rest: str) -> bool:
    return rest.startswith(":") and rest[1:].isdigit()
