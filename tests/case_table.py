"""One case of the case table: a record, and what both validation layers must make of it."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Case:
    record: dict | str
    reason: str | None = None  # None: stored

    def __str__(self):  # the test's id
        return f"{self.record if isinstance(self.record, str) else repr(self.record)[:70]} -> {self.reason}"
