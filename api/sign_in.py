"""Signing in: one check of a username and password from an address, throttled and audited.

:func:`check_sign_in` is the one door for every way of signing in (the token route, the
web sign-in form, HTTP Basic credentials): it normalises and caps the username before any
database work, serialises the attempts of one address and of one account, refuses while a
throttle holds, verifies the password (Argon2id), counts a failure, and writes an audit
event for every outcome, committed even when the caller then answers 401 or 429.

The lock-out trade-off (README, "Sign-in throttling"): a per-account limit alone lets
anyone lock a user out by guessing wrong on purpose.  So failures are counted three ways
in one rolling window (``CADASTRE_AUTH_THROTTLE_*``):

* one account from one address (5): that address waits for that account, while the owner
  signing in from elsewhere is not stopped;
* one address, any accounts (20): password spraying from one place waits;
* one account from every address (50): a distributed guess stops the account everywhere
  for the rest of the window; this is the lock-out an attacker can cause, and it needs
  ten times the failures of the old per-account limit, each recorded with its address;
  the event ``sign_in.throttled`` (limit ``user``) tells the administrators, and the
  owner's next sign-in answers how many failures the window holds.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Final

from sqlalchemy.orm import Session

from api.users import User, authenticate, spend_a_password_check
from config.auth import AuthSettings
from db import audit
from db.audit import Actor
from db.engine import sql

MAX_USERNAME: Final = 64
MAX_PASSWORD: Final = 1024
USERNAME: Final = re.compile(r"[a-z0-9._-]{2,64}")
"""What an account name can be (api.users.add_user refuses any other)."""
INVALID_NAME: Final = "(invalid username)"
"""Who a sign-in with a name that cannot be an account is audited as."""


def normalise_username(raw: str) -> str | None:
    """The account name as stored (NFKC, trimmed, lower-case), or None when ``raw`` cannot
    name an account: decided from the string alone, so a megabyte of random characters
    never reaches the database (it once overflowed an index row and answered 503)."""
    if len(raw) > 4 * MAX_USERNAME:
        return None
    name = unicodedata.normalize("NFKC", raw).strip().lower()
    return name if USERNAME.fullmatch(name) else None


@dataclass(frozen=True)
class SignedIn:
    user: User
    epoch: int
    recent_failures: int
    """Failed sign-ins of this account, from anywhere, in the throttle's window: shown to
    the owner so that a guess at their password does not go unnoticed."""


class SignInThrottled(Exception):
    """Too many recent failures: refuse without checking the password."""

    def __init__(self, retry_after: int, limit: str) -> None:
        super().__init__(f"too many failed sign-ins; try again in {retry_after} s")
        self.retry_after, self.limit = retry_after, limit


@dataclass(frozen=True)
class _Keys:
    address: str
    pair: str | None
    user: str | None


class SignInThrottle:
    """Failed sign-ins, counted in ``sign_in_failure`` so every worker process counts the
    same attempts; callers hold the address's (and account's) advisory lock meanwhile."""

    def __init__(self, settings: AuthSettings) -> None:
        self.window = settings.throttle_window_seconds
        self.limits = {"address_and_user": settings.throttle_per_address_and_user,
                       "address": settings.throttle_per_address,
                       "user": settings.throttle_per_user}

    @staticmethod
    def keys(address: str, name: str | None) -> _Keys:
        return _Keys(address=f"addr:{address}",
                     pair=f"pair:{address}|{name}" if name else None,
                     user=f"user:{name}" if name else None)

    def _named(self, keys: _Keys) -> list[tuple[str, str, int]]:
        out = [("address", keys.address, self.limits["address"])]
        if keys.pair and keys.user:
            out += [("address_and_user", keys.pair, self.limits["address_and_user"]),
                    ("user", keys.user, self.limits["user"])]
        return out

    def retry_after(self, session: Session, keys: _Keys) -> tuple[int, str]:
        """Seconds to wait and the limit that holds; (0, "") when an attempt is allowed."""
        named = self._named(keys)
        rows = session.execute(sql(
            "SELECT k.key, extract(epoch FROM min(r.at) + make_interval(secs => :w) "
            "       - clock_timestamp()) "
            "FROM unnest(CAST(:keys AS text[]), CAST(:lims AS int[])) AS k(key, lim) "
            "CROSS JOIN LATERAL (SELECT at FROM sign_in_failure f WHERE f.key = k.key "
            "  AND f.at > clock_timestamp() - make_interval(secs => :w) "
            "  ORDER BY f.at DESC LIMIT k.lim) r "
            "GROUP BY k.key, k.lim HAVING count(*) >= k.lim"),
            {"keys": [k for _, k, _ in named], "lims": [n for _, _, n in named],
             "w": self.window}).all()
        waits = {key: int(wait) + 1 for key, wait in rows}
        holding = [(waits[key], what) for what, key, _ in named if key in waits]
        return max(holding) if holding else (0, "")

    def failed(self, session: Session, keys: _Keys) -> None:
        """Count a failure against each key (and forget failures outside the window)."""
        session.execute(sql("DELETE FROM sign_in_failure "
                            "WHERE at < clock_timestamp() - make_interval(secs => :w)"),
                        {"w": self.window})
        session.execute(sql("INSERT INTO sign_in_failure (key) SELECT unnest(CAST(:k AS text[]))"),
                        {"k": [k for _, k, _ in self._named(keys)]})

    def succeeded(self, session: Session, keys: _Keys) -> int:
        """Clear this address's failures for the account; answer the account's failures
        from anywhere in the window (kept: they still count towards its ceiling)."""
        session.execute(sql("DELETE FROM sign_in_failure WHERE key = :k"), {"k": keys.pair})
        return int(session.execute(sql(
            "SELECT count(*) FROM sign_in_failure WHERE key = :k "
            "AND at > clock_timestamp() - make_interval(secs => :w)"),
            {"k": keys.user, "w": self.window}).scalar_one())

    def first_refusal(self, session: Session, address: str) -> bool:
        """Mark the address throttled; True when it was not marked in this window (so a
        flood of refused attempts is audited once, not once per attempt)."""
        key = f"throttled:{address}"
        seen = session.execute(sql(
            "SELECT 1 FROM sign_in_failure WHERE key = :k "
            "AND at > clock_timestamp() - make_interval(secs => :w) LIMIT 1"),
            {"k": key, "w": self.window}).first()
        if seen is None:
            session.execute(sql("INSERT INTO sign_in_failure (key) VALUES (:k)"), {"k": key})
        return seen is None


def check_sign_in(session: Session, *, throttle: SignInThrottle, username: str, password: str,
                  address: str, ward_code: str, via: str, request_id: str | None = None,
                  client_request_id: str | None = None) -> SignedIn | None:
    """Check ``username``/``password`` from ``address``: the user, or None when wrong;
    raises :class:`SignInThrottled` while a limit holds.  Commits ``session`` (the count
    and the audit event must outlive the refusal), so give it a session of its own.

    ``via`` names the door in the audit trail (``token``, ``page``, ``basic``);
    ``ward_code`` is the ward a failed attempt is audited in (no account says which)."""
    name = normalise_username(username)
    address = address[:64]
    keys = throttle.keys(address, name)
    who = Actor(username=name or INVALID_NAME, ward_code=ward_code, address=address,
                request_id=request_id, client_request_id=client_request_id)
    # One attempt per address at a time, then per account, across workers, until this
    # transaction ends: parallel attempts cannot all pass the count before one is recorded
    # (20 parallel guesses at unknown names once got 12 answers before the first 429).
    for key in (keys.address, keys.user):
        if key:
            session.execute(sql("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": key})
    wait, limit = throttle.retry_after(session, keys)
    if wait:
        if throttle.first_refusal(session, address):
            audit.record(session, actor=who, action="sign_in.throttled", entity="user",
                         detail={"via": via, "limit": limit, "retry_after_s": wait})
        session.commit()
        raise SignInThrottled(wait, limit)
    found = None
    if name is None or len(password) > MAX_PASSWORD:
        spend_a_password_check(password[:MAX_PASSWORD])  # as long as a real refusal
    else:
        found = authenticate(session, username=name, password=password)
    if found is None:
        throttle.failed(session, keys)
        audit.record(session, actor=who, action="sign_in.failed", entity="user",
                     detail={"via": via})
        session.commit()
        return None
    user, epoch = found
    recent = throttle.succeeded(session, keys)
    audit.record(session, actor=Actor(username=user.username, role=user.role,
                                      ward_code=user.ward_code, address=address,
                                      request_id=request_id,
                                      client_request_id=client_request_id),
                 action="sign_in", entity="user", entity_ids=[user.id],
                 detail={"via": via, "recent_failures": recent})
    session.commit()
    return SignedIn(user=user, epoch=epoch, recent_failures=recent)
