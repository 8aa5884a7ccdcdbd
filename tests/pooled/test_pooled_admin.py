"""The admin's program page: the cashback, paid membership and households sections save a new
program version from their forms, with field errors for bad values."""
from app.models import Shop
from app.services.program import current_program
from tests.admin.helpers import get_page, post_form


def program_of(t, shop):
    with t.db.scope(read_only=True) as session:
        return current_program(session, session.get(Shop, shop.id))[1]


def test_the_program_page_has_the_three_sections_and_the_members_only_flag(client, shop):
    html = get_page(client, "/program").get_data(as_text=True)
    for section in ("cashback", "membership", "households"):
        assert f'id="{section}"' in html
    assert 'name="membership.variant_id"' in html and 'name="members_only"' in html


def test_saving_each_section(client, t, shop):
    assert post_form(client, "/program/cashback", {"cashback.enabled": "true", "cashback.percent": "4",
                                                   "cashback.mode": "with_points"}).status_code == 200
    assert post_form(client, "/program/membership", {
        "membership.enabled": "true", "membership.name": "VIP Club", "membership.months": "12",
        "membership.variant_id": "gid://shopify/ProductVariant/45000000000001", "membership.points_multiplier": "2",
        "membership.monthly_free_shipping": "true"}).status_code == 200
    assert post_form(client, "/program/households", {"households.enabled": "true", "households.max_members": "3",
                                                     "households.invitation_days": "7"}).status_code == 200
    program = program_of(t, shop)
    assert program.cashback.enabled and str(program.cashback.percent) == "4"
    assert program.membership.variant_number == 45000000000001 and program.membership.monthly_free_shipping
    assert program.households.max_members == 3


def test_enabling_the_membership_without_a_variant_names_the_problem(client, t, shop):
    response = post_form(client, "/program/membership", {"membership.enabled": "true", "membership.name": "VIP",
                                                         "membership.months": "12", "membership.variant_id": "",
                                                         "membership.points_multiplier": "1"})
    assert response.status_code == 422
    assert "variant" in str(response.json["error"]["fields"])
    assert not program_of(t, shop).membership.enabled
