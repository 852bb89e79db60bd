"""What one scrape run did, counted, and said in a few lines."""

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class RunSummary:
    found: int = 0  # photos the sources listed
    already_have: int = 0  # skipped: their URL is in the manifest, or was rejected for good before
    downloaded: int = 0  # new rows in the manifest
    recovered: int = 0  # of those, files an interrupted run had written without their row
    duplicates: Counter = field(default_factory=Counter)  # exact | near
    rejected: Counter = field(default_factory=Counter)  # reason -> count
    failed: Counter = field(default_factory=Counter)  # reason -> count
    source_errors: list[str] = field(default_factory=list)

    def merge(self, other: "RunSummary") -> None:
        self.found += other.found
        self.already_have += other.already_have
        self.downloaded += other.downloaded
        self.recovered += other.recovered
        self.duplicates.update(other.duplicates)
        self.rejected.update(other.rejected)
        self.failed.update(other.failed)
        self.source_errors.extend(other.source_errors)

    def to_dict(self) -> dict:
        return {
            "found": self.found,
            "already_have": self.already_have,
            "downloaded": self.downloaded,
            "recovered": self.recovered,
            "duplicates": dict(self.duplicates),
            "rejected": dict(self.rejected),
            "failed": dict(self.failed),
            "source_errors": list(self.source_errors),
        }

    def lines(self, title: str) -> list[str]:
        lines = [
            f"{title}:",
            f"  found        {self.found}  ({self.already_have} already kept or rejected before)",
            f"  downloaded   {self.downloaded}"
            + (f"  ({self.recovered} recovered from an interrupted run)" if self.recovered else ""),
            f"  duplicates   {sum(self.duplicates.values())}{_breakdown(self.duplicates)}",
            f"  rejected     {sum(self.rejected.values())}{_breakdown(self.rejected)}",
            f"  failed       {sum(self.failed.values())}{_breakdown(self.failed)}",
        ]
        lines += [f"  source error {message}" for message in self.source_errors]
        return lines


def _breakdown(counts: Counter) -> str:
    return (
        "  (" + ", ".join(f"{reason} {n}" for reason, n in counts.most_common()) + ")"
        if counts
        else ""
    )
