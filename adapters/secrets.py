"""Secrets: the environment first, then Key Vault.

Locally (and in CI) a secret is just an environment variable; in Azure the app reads Key Vault
through its managed identity, so no secret sits in settings, templates or code. Key Vault answers
are cached for the life of the process, misses included, because every partner call asks.

The Azure SDK (azure-identity, azure-keyvault-secrets and the cryptography they load: slow to
import) is imported only when a vault is asked: a worker that never reads Key Vault (devhost,
tests, an app whose secrets are all settings) starts without it, and so does a cold start on
Azure until the first partner call that needs a secret.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from adapters import settings
from adapters.errors import SecretError

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential
    from azure.keyvault.secrets import SecretClient

log = logging.getLogger("workflows.secrets")


def default_credential() -> TokenCredential:
    """The app's identity as DefaultAzureCredential finds it (managed identity in Azure)."""
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential()


# Seams for tests (a local vault with its own certificate and a fake credential); production
# keeps the defaults: the app's identity through DefaultAzureCredential, normal TLS checks.
credential_factory: Callable[[], TokenCredential] = default_credential
client_options: dict[str, Any] = {}


def get_secret(name: str) -> str | None:
    """The secret `name` (e.g. "payments-api-key"), or None when nobody has it.

    Looks at env `name`, then env `NAME_IN_UPPER_SNAKE` ("PAYMENTS_API_KEY"), then the vault at
    setting KEY_VAULT_URL. Raises SecretError when the vault is set but cannot answer.
    """
    for variable in (name, name.replace("-", "_").upper()):
        value = os.environ.get(variable)
        if value:
            return value
    vault_url = settings.get("KEY_VAULT_URL")
    if vault_url is None:
        return None
    return _from_vault(vault_url, name)


def clear_cache() -> None:
    """Forget cached answers and clients (after rotating a secret, or between tests)."""
    _from_vault.cache_clear()
    _client.cache_clear()


@functools.cache
def _client(vault_url: str) -> SecretClient:
    from azure.keyvault.secrets import SecretClient

    return SecretClient(vault_url=vault_url, credential=credential_factory(), **client_options)


@functools.cache
def _from_vault(vault_url: str, name: str) -> str | None:
    # Key Vault names allow only letters, digits and dashes.
    from azure.core.exceptions import AzureError, ResourceNotFoundError

    vault_name = name.replace("_", "-")
    try:
        return _client(vault_url).get_secret(vault_name).value
    except ResourceNotFoundError:
        log.info("secret %s is not in %s", vault_name, vault_url)
        return None
    except AzureError as exc:  # not cached: the next call tries again
        raise SecretError(
            f"Key Vault {vault_url} could not return secret {vault_name!r} ({exc}); check "
            "KEY_VAULT_URL and that the app's identity may get secrets"
        ) from exc
