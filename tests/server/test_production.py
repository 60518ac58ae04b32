"""Production settings: a strong secret or no start; no introspection, no suggestions; X-Forwarded-For only from
configured proxies."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from pydantic import SecretStr, ValidationError
from redis.asyncio import Redis

from server.settings import DEVELOPMENT_SECRET, Settings
from tests.conftest import LOGIN
from tests.server.conftest import ClientFor


def production(secret: str) -> Settings:
    return Settings(env="production", secret_key=SecretStr(secret))


@pytest.mark.parametrize(
    "secret",
    [
        pytest.param("x", id="one-byte"),
        pytest.param("k" * 31, id="31-bytes"),
        pytest.param("密" * 10, id="30-bytes-in-10-characters"),
        pytest.param(DEVELOPMENT_SECRET, id="the-public-development-secret"),
    ],
)
def test_production_refuses_to_start_with_a_weak_secret(secret: str) -> None:
    with pytest.raises(ValidationError, match="KAOHE_SECRET_KEY"):
        production(secret)


def test_production_starts_with_a_secret_of_32_bytes_and_development_with_any() -> None:
    assert production("k" * 32).is_production
    assert production("密" * 11).secret_key.get_secret_value() == "密" * 11  # 33 bytes
    assert Settings(env="development", secret_key=SecretStr("x")).env == "development"


def test_a_refused_secret_stops_the_cli_before_it_does_anything() -> None:
    env = {**os.environ, "KAOHE_ENV": "production", "KAOHE_SECRET_KEY": "x"}
    done = subprocess.run(
        [sys.executable, "-m", "server.cli", "db", "migrate"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    assert "at least 32 bytes" in done.stderr


INTROSPECTION = ["{ __schema { queryType { name } } }", '{ __type(name: "Query") { name } }']
TYPO_FIELD = "{ mee { user { email } } }"
TYPO_ENUM = 'mutation($s: [ApiKeyScope!]!) { createApiKey(name: "k", scopes: $s) { __typename } }'


async def test_production_turns_introspection_and_suggestions_off(
    client_for: ClientFor, production_settings: Settings
) -> None:
    async with client_for(production_settings) as http:
        for query in INTROSPECTION:
            answer = (await http.post("/graphql", json={"query": query})).json()
            assert answer["data"] is None
            for error in answer["errors"]:
                assert "introspection has been disabled" in error["message"]
                assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        assert (await http.post("/graphql", json={"query": "{ __typename }"})).json() == {
            "data": {"__typename": "Query"}
        }
        (error,) = (await http.post("/graphql", json={"query": TYPO_FIELD})).json()["errors"]
        assert error["message"] == "Cannot query field 'mee' on type 'Query'."
        variables = {"s": ["EVENTS_WRIT"]}
        (error,) = (await http.post("/graphql", json={"query": TYPO_ENUM, "variables": variables})).json()["errors"]
        assert "EVENTS_WRIT" in error["message"] and "Did you mean" not in error["message"]
        assert "graphiql" not in (await http.get("/graphql", headers={"accept": "text/html"})).text.lower()


async def test_outside_production_introspection_and_suggestions_help_developers(client: httpx.AsyncClient) -> None:
    for query in INTROSPECTION:
        assert "errors" not in (await client.post("/graphql", json={"query": query})).json()
    (error,) = (await client.post("/graphql", json={"query": TYPO_FIELD})).json()["errors"]
    assert "Did you mean 'me'?" in error["message"]
    variables = {"s": ["EVENTS_WRIT"]}
    (error,) = (await client.post("/graphql", json={"query": TYPO_ENUM, "variables": variables})).json()["errors"]
    assert "Did you mean the enum value 'EVENTS_WRITE'" in error["message"]


# --- Proxies --------------------------------------------------------------------------------------------------------


def test_trusted_proxies_are_addresses_or_networks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAOHE_TRUSTED_PROXIES", "10.0.0.5, 10.1.0.0/16,::1")
    assert Settings().trusted_proxies == ["10.0.0.5", "10.1.0.0/16", "::1"]
    assert Settings(trusted_proxies=[]).trusted_proxies == []
    monkeypatch.setenv("KAOHE_TRUSTED_PROXIES", "")  # as .env.example leaves it
    assert Settings().trusted_proxies == []
    monkeypatch.delenv("KAOHE_TRUSTED_PROXIES")
    assert Settings().trusted_proxies == []
    with pytest.raises(ValidationError, match="not an IP address"):
        Settings(trusted_proxies=["*"])


async def failed_login_from(http: httpx.AsyncClient, forwarded_for: str) -> str:
    variables = {"email": f"{uuid.uuid4().hex}@example.com", "password": "wrong password"}
    answer = await http.post(
        "/graphql", json={"query": LOGIN, "variables": variables}, headers={"x-forwarded-for": forwarded_for}
    )
    return str(answer.json()["data"]["login"]["errors"][0]["code"])


async def test_x_forwarded_for_counts_only_from_a_trusted_proxy(
    client_for: ClientFor, database: Settings, redis: Redis
) -> None:
    forwarded = f"198.51.100.{uuid.uuid4().int % 250 + 1}"
    address_key = f"kaohe:login-fail:addr:{forwarded}"
    try:
        # The test client connects from 127.0.0.1: by default that is just a client, whatever header it sends.
        async with client_for(database) as direct:
            assert await failed_login_from(direct, forwarded) == "INVALID_CREDENTIALS"
        assert await redis.get(address_key) is None
        assert int(await redis.get("kaohe:login-fail:addr:127.0.0.1") or 0) >= 1
        # Behind a configured proxy, the address the proxy forwards is the client's.
        async with client_for(database.model_copy(update={"trusted_proxies": ["127.0.0.1"]})) as proxied:
            assert await failed_login_from(proxied, forwarded) == "INVALID_CREDENTIALS"
        assert await redis.get(address_key) == "1"
    finally:
        await redis.delete(address_key)


# `kaohe serve` itself: uvicorn trusts X-Forwarded-For from 127.0.0.1 unless told otherwise, so a local client (or
# anything reaching the port through a local hop) could rotate the header and never hit the per-address limit.


@pytest.fixture
def served(database: Settings) -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "KAOHE_ENV": "test",
        "KAOHE_DATABASE_URL": database.database_url,
        "KAOHE_OWNER_DATABASE_URL": database.owner_database_url,
        # A Redis database of its own: the per-address counter of 127.0.0.1 is not shared with other test runs.
        "KAOHE_REDIS_URL": "redis://127.0.0.1:6379/14",
        "KAOHE_LOGIN_MAX_FAILURES_PER_ADDRESS": "3",
    }
    env.pop("KAOHE_TRUSTED_PROXIES", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "kaohe serve did not start"
            assert process.poll() is None, "kaohe serve exited"
            time.sleep(0.2)
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


async def test_kaohe_serve_ignores_x_forwarded_for_from_localhost_by_default(served: str) -> None:
    local_counter = Redis.from_url("redis://127.0.0.1:6379/14")
    try:
        await local_counter.delete("kaohe:login-fail:addr:127.0.0.1")
        async with httpx.AsyncClient(base_url=served, timeout=30) as http:
            codes = [await failed_login_from(http, f"203.0.113.{attempt}") for attempt in range(1, 6)]
        assert codes[:3] == ["INVALID_CREDENTIALS"] * 3
        assert codes[3:] == ["RATE_LIMITED"] * 2
    finally:
        await local_counter.delete("kaohe:login-fail:addr:127.0.0.1")
        await local_counter.aclose()
