"""Reading a bulk export: lines cut anywhere by the network, resumed at a byte offset, and orders
put back together (from their lines in any order, and their refunds' details) into the very
facts the paged Admin API queries give."""
from __future__ import annotations

import json

import pytest
import requests
import responses
from graphql import parse

from app.devstore.bulk import CONNECTION_IN_LIST, bulk_query_problems
from app.services.bulk_import import order_facts
from app.shopify.bulk import BulkFileError, assemble_order, jsonl_records, stream_records, with_refund_details
from app.shopify.documents import BULK_ORDERS_QUERY, REFUND_DETAILS, bulk_orders_query
from tests.services.test_bulk_import import facts_of, history
from tests.support.admin_schema import admin_schema, validation_errors
from tests.support.bulk_files import FILE_URL, FileServer, jsonl, refund_details


def chunked(data: bytes, size: int):
    return [data[i:i + size] for i in range(0, len(data), size)]


def details_of(refunds: list[dict]) -> dict[str, dict]:
    """What REFUND_DETAILS answers for these refunds, by refund id."""
    ids = [f"gid://shopify/Refund/{r['id']}" for r in refunds]
    nodes = refund_details(*refunds)({"operationName": "RefundDetails", "variables": {"ids": ids}})["data"]["nodes"]
    return {node["id"]: node for node in nodes}


def orders_of(data: bytes) -> list:
    """The file's orders, each with its children wherever they are in the file."""
    records = [record for _, record in jsonl_records([data])]
    return [assemble_order(r, [c for c in records if c.get("__parentId") == r["id"]])
            for r in records if "__parentId" not in r]


@pytest.mark.parametrize("size", [1, 7, 100, 1 << 20])
def test_lines_cut_anywhere_read_back_whole_with_their_end_offsets(size):
    data = jsonl(*history())
    records = list(jsonl_records(chunked(data, size)))
    assert [r for _, r in records] == [json.loads(line) for line in data.splitlines()]
    assert [offset for offset, _ in records] == [i + 1 for i, b in enumerate(data) if b == ord("\n")]


@pytest.mark.parametrize("grouped", [True, False])
def test_orders_put_together_from_the_file_and_refund_details_have_the_facts_of_the_paged_queries(grouped):
    sample = history()
    details = details_of([refund for _, refunds in sample for refund in refunds])
    orders = sorted(orders_of(jsonl(*sample, grouped=grouped)), key=lambda o: o.node["name"])
    expected = sorted(sample, key=lambda pair: pair[0]["name"])
    assert [order_facts(with_refund_details(o, details)) for o in orders] == \
        [facts_of(order, refunds) for order, refunds in expected]


def test_the_ungrouped_file_puts_children_before_and_far_from_their_orders():
    lines = [json.loads(line) for line in jsonl(*history()[:3]).splitlines()]
    first_order = next(i for i, line in enumerate(lines) if "__parentId" not in line)
    assert first_order > 0 and all("__parentId" in line for line in lines[:first_order])


def test_a_line_given_to_the_wrong_order_is_refused():
    (first, _), (second, _) = history()[0], history()[5]
    [one, other] = orders_of(jsonl((first, []), (second, []), grouped=True))
    with pytest.raises(BulkFileError, match="as a child of"):
        assemble_order(one.node, [{"id": "gid://shopify/LineItem/1", "quantity": 1,
                                   "__parentId": other.node["id"]}])


def test_an_order_whose_refund_details_are_missing_is_not_read_as_unrefunded():
    order, refunds = history()[1]
    [bulk_order] = orders_of(jsonl((order, refunds)))
    with pytest.raises(BulkFileError, match="details of refund"):
        with_refund_details(bulk_order, {})


def test_a_resumed_download_starts_at_the_offset_even_if_the_server_ignores_range():
    data = jsonl(*history()[:3])
    offset = data.index(b"\n") + 1
    with responses.RequestsMock() as rsps:
        rsps.add(responses.GET, FILE_URL, body=data)  # 200 with the whole file
        records = list(stream_records(requests.Session(), FILE_URL, start_offset=offset))
    assert [r for _, r in records] == [json.loads(line) for line in data[offset:].splitlines()]


def test_a_range_request_reads_only_the_rest():
    data = jsonl(*history()[:3])
    offset = data.index(b"\n") + 1
    with responses.RequestsMock() as rsps:
        files = FileServer(rsps, data)
        records = list(stream_records(requests.Session(), FILE_URL, start_offset=offset))
    assert files.ranges == [f"bytes={offset}-"] and records[-1][0] == len(data)
    assert len(records) == len(data.splitlines()) - 1


def test_the_bulk_query_is_valid_against_the_admin_schema_and_within_the_bulk_rules():
    query = bulk_orders_query("2025-01-01")
    assert validation_errors(query) == [] and bulk_query_problems(admin_schema(), parse(query)) == []
    assert validation_errors(REFUND_DETAILS.text) == []


def test_refund_line_items_inside_the_refunds_list_break_shopifys_bulk_rules():
    """The query before the fix: Shopify refused it, so every real import failed at once."""
    nested = BULK_ORDERS_QUERY.replace("duties { amountSet { shopMoney { amount } } }",
                                       "duties { amountSet { shopMoney { amount } } } refundLineItems { edges { node { id } } }")
    assert nested != BULK_ORDERS_QUERY
    assert bulk_query_problems(admin_schema(), parse(nested % {"search": "processed_at:>=2025-01-01"})) == \
        [CONNECTION_IN_LIST]
