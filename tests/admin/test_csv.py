"""CSV: starting balances imported as `import` ledger entries (once per member), and exports of
members and the ledger that import back."""
import csv
import io

import pytest

from app.loyalty.ledger import starting_balance_key
from tests.admin.helpers import bearer, post_form, token
from tests.support import OTHER_SHOP
from tests.support.ledger import adjust, balance, entries, member_of

FILE = "customer_id,points,email,first_name,last_name,note\n" \
       "501,1200,ana@example.com,Ana,Lopez,Smile.io balance\n" \
       "502,0,bo@example.com,Bo,,\n" \
       "gid://shopify/Customer/503,\"2,500\",cy@example.com,Cy,Park,\n"


def upload(client, text: str, **kwargs):
    return post_form(client, "/import/balances", {"file": (io.BytesIO(text.encode()), "balances.csv")},
                     content_type="multipart/form-data", **kwargs)


def problems(response) -> dict[str, str]:
    return {f["field"]: f["problem"] for f in response.json["error"]["fields"]}


@pytest.mark.both_backends
def test_starting_balances_become_import_entries_once(client, t, shop):
    response = upload(client, FILE)
    assert response.status_code == 200, response.json
    assert response.json["result"] == {"rows": 3, "imported": 2, "already_imported": 0, "zero_balances_skipped": 1,
                                       "points": 3700}
    entry = entries(t, shop, 501)[0]
    assert (entry.kind, entry.points, entry.staff_user_id) == ("import", 1200, "84512345678")
    assert entry.reason == "Starting balance imported: Smile.io balance"
    assert entry.entry_key == starting_balance_key(member_of(t, shop, 501).id)
    assert member_of(t, shop, 503).first_name == "Cy" and balance(t, shop, 503).balance == 2500
    again = upload(client, FILE)
    assert again.json["result"]["imported"] == 0 and again.json["result"]["already_imported"] == 2
    assert balance(t, shop, 501).balance == 1200


def test_a_changed_starting_balance_is_refused_with_the_line(client, t, shop):
    upload(client, FILE)
    response = upload(client, "customer_id,points\n501,1300\n")
    assert response.status_code == 422
    assert "already has an imported starting balance of 1,200 points" in problems(response)["line 2"]
    assert balance(t, shop, 501).balance == 1200


def test_a_file_with_bad_lines_imports_nothing_and_lists_them(client, t, shop):
    text = "customer_id,points\n601,100\nabc,5\n602,-3\n601,7\n"
    response = upload(client, text)
    assert response.status_code == 422 and "Nothing was imported" in response.json["error"]["message"]
    assert set(problems(response)) == {"line 3", "line 4", "line 5"}
    assert "already on line 2" in problems(response)["line 5"]
    assert member_of(t, shop, 601) is None


def test_a_file_without_the_columns_or_rows_is_refused(client, shop):
    assert "customer_id" in problems(upload(client, "email,points\na@b.c,5\n"))["file"]
    assert problems(upload(client, "customer_id,points\n")) == {"file": "has no rows to import"}


def test_an_upload_without_a_file_or_csrf_is_refused(client, shop):
    assert problems(post_form(client, "/import/balances", {}))["file"]
    assert upload(client, FILE, csrf="").status_code == 403


def read_csv(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


@pytest.mark.both_backends
def test_members_export_imports_back_into_another_shop_with_the_same_balances(client, t, shop, other_shop):
    adjust(t, shop, 340, customer_id=701, reason="gift")
    adjust(t, shop, 25, customer_id=702, reason="gift")
    adjust(t, shop, 100, customer_id=703, reason="gift")
    adjust(t, shop, -100, customer_id=703, reason="used")
    exported = client.get("/api/v1/exports/members.csv", headers=bearer())
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    assert "attachment" in exported.headers["Content-Disposition"]
    rows = read_csv(exported)
    assert {(r["customer_id"], r["balance"]) for r in rows} == {("701", "340"), ("702", "25"), ("703", "0")}
    imported = upload(client, exported.get_data(as_text=True), shop=OTHER_SHOP)
    assert imported.status_code == 200 and imported.json["result"]["imported"] == 2
    round_trip = read_csv(client.get("/api/v1/exports/members.csv", headers=bearer(OTHER_SHOP)))
    assert {(r["customer_id"], r["balance"]) for r in round_trip} == {("701", "340"), ("702", "25")}


def test_ledger_export_has_every_entry_with_its_reason_and_staff_user(client, t, shop, other_shop):
    adjust(t, shop, 50, customer_id=701, reason="=HYPERLINK(\"http://evil\")")
    adjust(t, other_shop, 99, customer_id=701, reason="other shop")
    rows = read_csv(client.get("/api/v1/exports/ledger.csv", headers=bearer()))
    assert len(rows) == 1
    row = rows[0]
    assert (row["customer_id"], row["kind"], row["points"], row["staff_user_id"]) == ("701", "adjust", "50", "test")
    assert row["reason"] == "Adjusted by staff: =HYPERLINK(\"http://evil\")"


def test_text_a_spreadsheet_would_run_as_a_formula_is_quoted(client, t, shop):
    with t.db.scope() as session:
        from app.models import Shop
        from app.services.members import get_or_create_member
        member = get_or_create_member(session, session.get(Shop, shop.id), 801, now=t.clock())
        member.first_name = "=cmd|' /C calc'!A0"
        session.commit()
    rows = read_csv(client.get("/api/v1/exports/members.csv", headers=bearer()))
    assert rows[0]["first_name"] == "'=cmd|' /C calc'!A0"


def test_exports_need_a_session_token(client, shop):
    assert client.get("/api/v1/exports/members.csv").status_code == 401
    assert client.get("/api/v1/exports/ledger.csv").status_code == 401
    # Inside the admin iframe the page opens the file in a new tab with the token in the address.
    assert client.get(f"/api/v1/exports/members.csv?id_token={token()}").status_code == 200


def test_balances_can_be_imported_through_the_api(client, t, shop):
    response = client.post("/api/v1/imports/balances", data="customer_id,points\n901,75\n",
                           headers={**bearer(), "Content-Type": "text/csv"})
    assert response.status_code == 201 and balance(t, shop, 901).balance == 75
