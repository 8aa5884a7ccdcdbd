"""The admin segment pages: the list with counts (in the navigation), the builder, a segment with
its sample members, size over time and sync form; another shop's segment is a 404 page."""
from tests.admin.helpers import bearer
from tests.segments.seed import add_member, add_order, recompute
from tests.support import OTHER_SHOP


def page(client, path, shop=None):
    from tests.admin.helpers import get_page
    return get_page(client, path, shop=shop) if shop else get_page(client, path)


def test_the_list_shows_built_in_and_own_segments_with_counts(client, t, shop):
    add_order(t, shop, add_member(t, shop, 1), days_ago=2)
    recompute(t, shop)
    client.post("/api/v1/segments", headers=bearer(), json={
        "name": "Buyers", "conditions": [{"field": "orders_count", "op": "gte", "value": 1}]})
    response = page(client, "/segments")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Buyers" in html and "Lifecycle: conversion" in html
    assert ">Segments</a>" in html  # in the navigation


def test_a_segment_page_has_the_builder_sample_sizes_and_sync(client, t, shop):
    add_order(t, shop, add_member(t, shop, 1, first_name="Ada", last_name="Lovelace"), days_ago=2)
    segment_id = client.post("/api/v1/segments", headers=bearer(), json={
        "name": "Buyers", "conditions": [{"field": "orders_count", "op": "gte", "value": 1}]}).json["id"]
    recompute(t, shop)
    html = page(client, f"/segments/{segment_id}").get_data(as_text=True)
    assert "data-segment-builder" in html and "Ada Lovelace" in html and "data-segment-sync" in html
    assert "Members of Buyers per day" in html and f"/api/v1/segments/{segment_id}/export.csv" in html
    built_in = page(client, "/segments/lifecycle:conversion").get_data(as_text=True)
    assert "cannot be changed" in built_in and "data-segment-builder" not in built_in
    assert "data-segment-builder" in page(client, "/segments/new").get_data(as_text=True)


def test_another_shops_segment_page_is_404(client, t, shop, other_shop):
    segment_id = client.post("/api/v1/segments", headers=bearer(), json={
        "name": "Buyers", "conditions": [{"field": "orders_count", "op": "gte", "value": 1}]}).json["id"]
    assert page(client, f"/segments/{segment_id}", OTHER_SHOP).status_code == 404


def test_the_export_is_a_csv_of_the_members(client, t, shop):
    add_order(t, shop, add_member(t, shop, 1, email="=cmd@example.com"), days_ago=2, total=1250)
    recompute(t, shop)
    response = client.get("/api/v1/segments/lifecycle:conversion/export.csv", headers=bearer())
    lines = response.get_data(as_text=True).splitlines()
    assert response.mimetype == "text/csv" and lines[0].startswith("customer_id,email")
    assert lines[1].startswith("1,'=cmd@example.com") and ",conversion," in lines[1] and ",12.50," in lines[1]


def test_the_builder_preview_counts_without_saving(client, t, shop):
    add_member(t, shop, 1, country_code="CA")
    body = client.post("/api/v1/segments/preview", headers=bearer(), json={
        "match": "all", "conditions": [{"field": "country", "op": "eq", "value": "CA"}]}).json
    assert body["count"] == 1 and body["sample"][0]["customer_id"] == 1
    assert client.get("/api/v1/segments", headers=bearer()).json["segments"][-1]["built_in"]
