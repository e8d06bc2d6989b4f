"""Problems found in reference files: `Issue` (file, line, field) and `ReferenceDataError`."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Issue", "ReferenceDataError"]


@dataclass(frozen=True)
class Issue:
    """One problem found in a reference file: where it is and what is wrong."""

    path: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        return f"{where}: field {self.field!r}: {self.message}"


class ReferenceDataError(ValueError):
    """Invalid reference data; `issues` lists every problem found (file, line, field)."""

    def __init__(self, issues: list[Issue] | tuple[Issue, ...]) -> None:
        self.issues: tuple[Issue, ...] = tuple(issues)
        shown = [str(issue) for issue in self.issues[:20]]
        if len(self.issues) > 20:
            shown.append(f"... and {len(self.issues) - 20} more")
        super().__init__("invalid reference data:\n  " + "\n  ".join(shown))
