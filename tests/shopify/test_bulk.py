"""Reading a bulk export: lines cut anywhere by the network, resumed at a byte offset, put back
together into the very orders (and facts) the paged Admin API queries give."""
from __future__ import annotations

import json

import pytest
import requests
import responses

from app.services.bulk_import import order_facts
from app.shopify.bulk import BulkFileError, jsonl_records, orders_from_records, stream_records
from app.shopify.documents import bulk_orders_query
from tests.services.test_bulk_import import facts_of, history
from tests.support.admin_schema import validation_errors
from tests.support.bulk_files import FILE_URL, FileServer, jsonl


def chunked(data: bytes, size: int):
    return [data[i:i + size] for i in range(0, len(data), size)]


@pytest.mark.parametrize("size", [1, 7, 100, 1 << 20])
def test_lines_cut_anywhere_read_back_whole_with_their_end_offsets(size):
    data = jsonl(*history())
    records = list(jsonl_records(chunked(data, size)))
    assert [r for _, r in records] == [json.loads(line) for line in data.splitlines()]
    assert [offset for offset, _ in records] == [i + 1 for i, b in enumerate(data) if b == ord("\n")]


def test_the_file_gives_back_the_orders_of_the_paged_queries_fact_for_fact():
    sample = history()
    orders = list(orders_from_records(jsonl_records([jsonl(*sample)])))
    assert [order_facts(o) for o in orders] == [facts_of(order, refunds) for order, refunds in sample]
    assert orders[-1].end_offset == len(jsonl(*sample)) and sum(o.lines for o in orders) == \
        len(jsonl(*sample).splitlines())


def test_an_order_whose_children_are_not_next_to_it_stops_the_reading():
    (first, _), (second, second_refunds) = history()[0], history()[1]
    lines = jsonl((first, []), (second, second_refunds)).splitlines()
    moved = [lines[0], *lines[len(jsonl((first, [])).splitlines()):], *lines[1:len(jsonl((first, [])).splitlines())]]
    with pytest.raises(BulkFileError, match="not next to its order"):
        list(orders_from_records(jsonl_records([b"\n".join(moved)])))


def test_a_resumed_download_starts_at_the_offset_even_if_the_server_ignores_range():
    data = jsonl(*history()[:3])
    offset = next(o.end_offset for o in orders_from_records(jsonl_records([data])))
    with responses.RequestsMock() as rsps:
        rsps.add(responses.GET, FILE_URL, body=data)  # 200 with the whole file
        records = list(stream_records(requests.Session(), FILE_URL, start_offset=offset))
    assert [r for _, r in records] == [json.loads(line) for line in data[offset:].splitlines()]


def test_a_range_request_reads_only_the_rest():
    data = jsonl(*history()[:3])
    offset = next(o.end_offset for o in orders_from_records(jsonl_records([data])))
    with responses.RequestsMock() as rsps:
        files = FileServer(rsps, data)
        orders = list(orders_from_records(stream_records(requests.Session(), FILE_URL, start_offset=offset)))
    assert files.ranges == [f"bytes={offset}-"] and len(orders) == 2 and orders[-1].end_offset == len(data)


def test_the_bulk_query_is_valid_against_the_admin_schema_and_within_the_bulk_rules():
    from app.devstore.bulk import bulk_query_problems
    from graphql import parse
    from tests.support.admin_schema import admin_schema
    query = bulk_orders_query("2025-01-01")
    assert validation_errors(query) == [] and bulk_query_problems(admin_schema(), parse(query)) == []
