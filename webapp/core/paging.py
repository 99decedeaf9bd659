"""Sorting and pages of the lists: one shape for every list, whoever builds it (services, the
outbox)."""

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
class Page:
    """One page of any list: its rows, and the URL arguments of the pages around it (None where
    there is none), which the `pager` macro (templates/lists/_macros.html) turns into links.

    Two ways to cut a list, one shape: lists of a million rows (the outbox, applications) go on
    by keyset, from the last row shown (`keyset_page`: a far page costs what the first does)
    and back to the first page; short lists (tens to hundreds of rows) go on and back by
    number (`offset_page`, `list_page`)."""

    rows: list
    next: dict | None = None  # the next page's URL arguments
    back: dict | None = None  # the previous page's (by number) or the first page's (keyset)
    number: int | None = None  # pages by number only
    total: int | None = None  # how many rows match, where the list says it
    total_is_lower_bound: bool = False  # "more than `total`": counting stopped there

    @property
    def back_to_first(self) -> bool:
        return self.number is None


# Far beyond any real list; a larger page number would overflow the OFFSET.
MAX_PAGE = 100_000


def page_number(value) -> int:
    """A page number from a URL: 1 for anything that is not one."""
    try:
        return min(max(1, int(value or 1)), MAX_PAGE)
    except (TypeError, ValueError):
        return 1


def _numbered(rows: list, number: int, size: int, total: int | None) -> Page:
    more = len(rows) > size
    return Page(rows=rows[:size], number=number, total=total,
                next={"page": number + 1} if more else None,
                back={"page": number - 1 if number > 2 else None} if number > 1 else None)


def offset_page(session, query, number: int, size: int, total: int | None = None) -> Page:
    """Page `number` of a query's rows, `size` a page."""
    number = page_number(number)
    rows = list(session.scalars(query.offset((number - 1) * size).limit(size + 1)))
    return _numbered(rows, number, size, total)


def list_page(items: list, number: int, size: int) -> Page:
    """Page `number` of a list already in memory."""
    number = page_number(number)
    return _numbered(items[(number - 1) * size:number * size + 1], number, size, len(items))


def keyset_page(rows: list, size: int, key, param: str, started: bool, **counts) -> Page:
    """A keyset page from `rows`, read with a limit of `size + 1` from where `param` said:
    the next page starts after `key(last row)`; `started`, a page other than the first."""
    more = len(rows) > size
    rows = rows[:size]
    return Page(rows=rows, next={param: key(rows[-1])} if more and rows else None,
                back={param: None} if started else None, **counts)
