"""Sorting and pages of the lists, shared by the services that build them."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Sort:
    """A list's order: a column name ("" for the list's natural order) and a direction.
    In URLs: `title` ascending, `-title` descending."""

    key: str = ""
    descending: bool = True

    @classmethod
    def parse(cls, value: str | None, allowed, default: "Sort | None" = None) -> "Sort":
        """The order asked for, or `default` for an empty or unknown one."""
        value = (value or "").strip()
        key = value.lstrip("-")
        if key not in allowed:
            return default or cls()
        return cls(key, value.startswith("-"))

    def __str__(self) -> str:
        return ("-" if self.descending else "") + self.key if self.key else ""


@dataclass
class OffsetPage:
    """One page of a short list (campaigns, templates: tens to hundreds of rows)."""

    rows: list
    number: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1


# Far beyond any real list; a larger page number would overflow the OFFSET.
MAX_PAGE = 100_000


def offset_page(session, query, number: int, size: int) -> OffsetPage:
    number = min(max(1, number or 1), MAX_PAGE)
    rows = list(session.scalars(query.offset((number - 1) * size).limit(size + 1)))
    return OffsetPage(rows=rows[:size], number=number, has_next=len(rows) > size)
