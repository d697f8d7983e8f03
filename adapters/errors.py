"""The one error type partner calls raise, so activities decide on retries without guessing."""

from __future__ import annotations


class PartnerError(Exception):
    """A partner call failed.

    `retryable` is True when trying again later may succeed (timeouts, 408, 429, 5xx, outages):
    activities let their retry policy handle it. False means the request itself is wrong
    (other 4xx, unknown ids) and retrying the same request cannot help.
    """

    def __init__(self, partner: str, message: str, retryable: bool) -> None:
        super().__init__(f"{partner}: {message}")
        self.partner = partner
        self.message = message
        self.retryable = retryable

    def __reduce__(self):  # keeps the fields when the error crosses a process boundary
        return (type(self), (self.partner, self.message, self.retryable))


class SecretError(Exception):
    """Key Vault could not answer (not a missing secret: that is None). Check the vault URL and
    that the app's identity may read secrets."""
