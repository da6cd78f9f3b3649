"""What the hub's verbs report back."""

from __future__ import annotations

import datetime as dt

import attrs

from omnikit.errors import ValidationError

__all__ = ["ForgetReport", "IngestResult", "Rejection"]


@attrs.define(frozen=True, kw_only=True)
class Rejection:
    """
    A message of a batch that was not accepted: its *index* in the batch and the *error*.

    Added in version 0.1.0.
    """

    index: int
    error: ValidationError
    message_id: str | None = None


@attrs.define(frozen=True, kw_only=True)
class IngestResult:
    """
    What `Hub.ingest()` did with a message or a batch.

    Attributes:
        accepted: Message ids stored by this call, in the order they came.
        duplicates: Message ids that were stored before (or earlier in the same batch):
            nothing changed for them.
        rejected: The messages that failed validation, with their index and error.

    Added in version 0.1.0.
    """

    accepted: tuple[str, ...] = ()
    duplicates: tuple[str, ...] = ()
    rejected: tuple[Rejection, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether nothing was rejected."""
        return not self.rejected

    def raise_for_failures(self) -> None:
        """
        Raise an `ExceptionGroup` of the rejections' errors, if there were any.

        Added in version 0.1.0.
        """
        if self.rejected:
            raise ExceptionGroup(
                f"{len(self.rejected)} of {len(self.accepted) + len(self.duplicates) + len(self.rejected)} "
                "messages rejected",
                [ValidationError(r.error.errors, prefix=f"[{r.index}]") for r in self.rejected],
            )

    def __add__(self, other: IngestResult) -> IngestResult:
        return IngestResult(
            accepted=self.accepted + other.accepted,
            duplicates=self.duplicates + other.duplicates,
            rejected=self.rejected + other.rejected,
        )


@attrs.define(frozen=True, kw_only=True)
class ForgetReport:
    """
    What `Hub.forget()` erased.

    Added in version 0.1.0.
    """

    customer_id: str
    identities: int
    touchpoints: int
    erased_at: dt.datetime
