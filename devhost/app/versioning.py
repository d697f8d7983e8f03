"""Orchestration versioning as the Durable extension applies it.

host.json `durableTask.defaultVersion` is stamped on every new orchestration and
sub-orchestration (unless the caller names one), and `versionMatchStrategy` /
`versionFailureStrategy` decide whether this host may run an instance of another version.
The rules follow DurableTask.Core: `VersioningSettings.CompareVersions` for ordering and
`TaskOrchestrationDispatcher.OnProcessWorkItemAsync` for the match check; the extension's
defaults (`DurableTaskOptions`: CurrentOrOlder, Reject) apply when host.json says nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

#: The failure DurableTask.Core records when the Fail strategy ends an instance.
MISMATCH_OUTPUT = "VersionMismatch: Orchestration version did not comply with Worker Versioning"


class MatchStrategy(Enum):
    NONE = "None"
    STRICT = "Strict"
    CURRENT_OR_OLDER = "CurrentOrOlder"


class FailureStrategy(Enum):
    REJECT = "Reject"
    FAIL = "Fail"


class VersioningError(ValueError):
    """host.json names a strategy the extension does not know."""


@dataclass(frozen=True)
class Versioning:
    """This host's version and how strictly it holds other versions to it."""

    default_version: str | None = None
    match: MatchStrategy = MatchStrategy.CURRENT_OR_OLDER
    failure: FailureStrategy = FailureStrategy.REJECT

    @classmethod
    def from_host_json(cls, durable: dict[str, Any]) -> Versioning:
        """Read the three settings from host.json's `extensions.durableTask` section."""
        version = durable.get("defaultVersion")
        return cls(
            default_version=None if version is None else str(version),
            match=_choice(MatchStrategy, durable, "versionMatchStrategy", cls.match),
            failure=_choice(FailureStrategy, durable, "versionFailureStrategy", cls.failure),
        )

    def version_for_new(self, requested: str | None) -> str:
        """The version a new instance gets: the caller's, else defaultVersion, else none."""
        if requested is not None:
            return requested
        return self.default_version or ""

    def accepts(self, instance_version: str | None) -> bool:
        """Whether this host may run an instance of `instance_version`."""
        if self.match is MatchStrategy.STRICT:
            return (instance_version or "") == (self.default_version or "")
        if self.match is MatchStrategy.CURRENT_OR_OLDER:
            return compare_versions(instance_version, self.default_version) <= 0
        return True


def _choice(kind: type[Enum], durable: dict[str, Any], key: str, default: Enum) -> Any:
    value = durable.get(key)
    if value is None:
        return default
    for member in kind:
        if str(value).lower() == member.value.lower():
            return member
    names = ", ".join(member.value for member in kind)
    raise VersioningError(f"host.json durableTask.{key} is '{value}'; expected one of {names}")


def compare_versions(source: str | None, other: str | None) -> int:
    """-1, 0 or 1 as `source` is older than, equal to or newer than `other`.

    Empty versions are equal to each other and older than any defined one; two versions that
    both parse as .NET `System.Version` (2 to 4 numeric parts) compare part by part, a missing
    part counting as older than a present one; anything else compares as text, ignoring case.
    """
    source, other = (source or "").strip(), (other or "").strip()
    if not source or not other:
        return (bool(source) > bool(other)) - (bool(source) < bool(other))
    parsed_source, parsed_other = _dotnet_version(source), _dotnet_version(other)
    if parsed_source is not None and parsed_other is not None:
        return (parsed_source > parsed_other) - (parsed_source < parsed_other)
    left, right = source.upper(), other.upper()
    return (left > right) - (left < right)


def _dotnet_version(text: str) -> tuple[int, ...] | None:
    """`System.Version.TryParse`: major.minor[.build[.revision]], unset parts sort first (-1)."""
    parts = text.split(".")
    if not 2 <= len(parts) <= 4 or not all(part.isdigit() for part in parts):
        return None
    numbers = [int(part) for part in parts]
    return tuple(numbers + [-1] * (4 - len(numbers)))


#: No defaultVersion, the extension's default strategies.
UNVERSIONED = Versioning()
