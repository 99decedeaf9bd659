"""One shape for every list's pages: by number for short lists, by keyset for long ones."""

from webapp.core.paging import MAX_PAGE, keyset_page, list_page, page_number


def test_pages_by_number_lead_back_and_on():
    items = list(range(1, 8))
    first, second, last = (list_page(items, n, 3) for n in (1, 2, 3))
    assert (first.rows, first.back, first.next) == ([1, 2, 3], None, {"page": 2})
    assert (second.rows, second.back, second.next) == ([4, 5, 6], {"page": None}, {"page": 3})
    assert (last.rows, last.back, last.next) == ([7], {"page": 2}, None)
    assert not second.back_to_first and first.total == 7


def test_a_page_number_from_a_url_is_always_a_page():
    assert [page_number(v) for v in (None, "", "x", "-3", "0", "2", str(10**12))] == [
        1, 1, 1, 1, 1, 2, MAX_PAGE]


def test_keyset_pages_lead_on_from_the_last_row_and_back_to_the_first():
    first = keyset_page([9, 8, 7, 6], 3, lambda row: row, "before", started=False)
    assert (first.rows, first.next, first.back) == ([9, 8, 7], {"before": 7}, None)
    last = keyset_page([6, 5], 3, lambda row: row, "before", started=True, total=5)
    assert (last.rows, last.next, last.back, last.total) == ([6, 5], None, {"before": None}, 5)
    assert last.back_to_first
