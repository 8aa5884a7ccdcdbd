"""The program page: each section saves a new program version from its form; invalid values
come back as messages for the exact field; rewards are created, changed and deleted."""
from datetime import datetime, timezone

from sqlalchemy import select

from app.models import Reward, Shop
from app.services.program import current_program
from tests.admin.helpers import get_page, post_form
from tests.support import OTHER_SHOP
from tests.support.ledger import set_program


def program_of(t, shop):
    with t.db.scope(read_only=True) as session:
        return current_program(session, session.get(Shop, shop.id))


def fields(response) -> dict[str, str]:
    return {f["field"]: f["problem"] for f in response.json["error"]["fields"]}


EARNING = {"earning.points_per_unit": "2", "earning.base": "subtotal_with_shipping", "earning.rounding": "nearest",
           "earning.trigger": "paid", "earning.pending_days": "14"}


def test_program_page_shows_every_section_and_the_shopper_preview(client, shop):
    html = get_page(client, "/program").get_data(as_text=True)
    for section in ("earning", "actions", "campaigns", "rewards", "tiers", "referrals", "expiry", "widget"):
        assert f'id="{section}"' in html
    assert 'name="earning.points_per_unit"' in html and 'data-error-for="earning.points_per_unit"' in html
    assert "data-preview" in html and "Place an order" in html and "USD 5 off" in html


def test_saving_the_earning_rules_creates_a_new_version_by_the_staff_user(client, t, shop):
    response = post_form(client, "/program/earning", EARNING)
    assert response.status_code == 200 and "saved (version" in response.json["message"]
    version, program = program_of(t, shop)
    assert (str(program.earning.points_per_unit), program.earning.base, program.earning.pending_days) == (
        "2", "subtotal_with_shipping", 14)
    assert version.created_by == "84512345678"
    assert program.actions.signup.points == 100  # other sections untouched


def test_an_invalid_value_is_reported_for_its_field(client, t, shop):
    response = post_form(client, "/program/earning", {**EARNING, "earning.points_per_unit": "-1",
                                                     "earning.rounding": "sideways"})
    assert response.status_code == 422
    problems = fields(response)
    assert "greater than or equal to 0" in problems["earning.points_per_unit"]
    assert "earning.rounding" in problems
    assert program_of(t, shop)[0].version == 1  # nothing saved


def test_an_emptied_required_field_reads_required(client, shop):
    response = post_form(client, "/program/earning", {**EARNING, "earning.points_per_unit": ""})
    assert fields(response) == {"earning.points_per_unit": "Required."}


def test_actions_keep_only_social_networks_with_a_link(client, t, shop):
    form = {"actions.signup.enabled": ["false", "true"], "actions.signup.points": "150",
            "actions.signup.limit": "once", "actions.social_follow.enabled": ["false", "true"],
            "actions.social_follow.points": "20", "actions.social_follow.networks.instagram": "https://instagram.com/mp",
            "actions.social_follow.networks.tiktok": "",
            "actions.product_review.enabled": ["false", "true"], "actions.product_review.points": "30",
            "actions.product_review.limit": "per_period", "actions.product_review.max_per_period": "2",
            "actions.product_review.period_days": "7"}
    assert post_form(client, "/program/actions", form).status_code == 200
    program = program_of(t, shop)[1]
    assert program.actions.signup.points == 150
    assert program.actions.social_follow.networks == {"instagram": "https://instagram.com/mp"}
    assert program.actions.product_review.max_per_period == 2
    assert program.actions.birthday.enabled is False  # not in the form: off


def test_an_action_limited_per_period_without_the_period_names_the_action(client, shop):
    form = {"actions.product_review.enabled": "true", "actions.product_review.points": "30",
            "actions.product_review.limit": "per_period"}
    response = post_form(client, "/program/actions", form)
    assert response.status_code == 422
    assert "needs max_per_period and period_days" in fields(response)["actions.product_review"]


def test_campaign_times_are_the_shops_local_time(client, t, shop):
    with t.db.scope() as session:
        session.get(Shop, shop.id).iana_timezone = "America/Toronto"
        session.commit()
    form = {"campaigns.0.key": "bfcm", "campaigns.0.name": "Black Friday", "campaigns.0.starts_at": "2025-11-28T00:00",
            "campaigns.0.ends_at": "2025-12-02T00:00", "campaigns.0.multiplier": "2", "campaigns.0.bonus_points": "",
            "campaigns.0.tier_keys[]": ["", "gold"], "campaigns.0.product_ids[]": "8123456789012, 8123456789013",
            "campaigns.0.collection_ids[]": ""}
    assert post_form(client, "/program/campaigns", form).status_code == 200
    campaign = program_of(t, shop)[1].campaigns[0]
    assert campaign.starts_at == datetime(2025, 11, 28, 5, 0, tzinfo=timezone.utc)
    assert campaign.tier_keys == ["gold"] and campaign.product_ids == [8123456789012, 8123456789013]
    assert campaign.collection_ids is None and campaign.bonus_points is None
    html = get_page(client, "/program").get_data(as_text=True)
    assert 'value="2025-11-28T00:00"' in html  # shown back in local time


def test_a_campaign_without_an_end_and_one_ending_before_it_starts_are_reported(client, shop):
    form = {"campaigns.0.key": "a", "campaigns.0.name": "A", "campaigns.0.starts_at": "2025-11-28T00:00",
            "campaigns.0.ends_at": "", "campaigns.0.multiplier": "2",
            "campaigns.3.key": "b", "campaigns.3.name": "B", "campaigns.3.starts_at": "2025-11-28T00:00",
            "campaigns.3.ends_at": "2025-11-01T00:00", "campaigns.3.bonus_points": "10"}
    problems = fields(post_form(client, "/program/campaigns", form))
    # rows are renumbered in order: the second row is campaigns.1
    assert problems["campaigns.0.ends_at"] == "Required."
    assert "ends_at must be after starts_at" in problems["campaigns.1"]


def test_products_already_found_for_an_unchanged_collection_are_kept(client, t, shop):
    set_program(t, shop, {"campaigns": [{"key": "c", "name": "C", "starts_at": "2025-03-01T00:00:00Z",
                                         "ends_at": "2025-04-01T00:00:00Z", "multiplier": "2", "collection_ids": [77],
                                         "collection_product_ids": [1, 2]}]})
    form = {"campaigns.0.key": "c", "campaigns.0.name": "C renamed", "campaigns.0.starts_at": "2025-03-01T00:00",
            "campaigns.0.ends_at": "2025-04-01T00:00", "campaigns.0.multiplier": "2",
            "campaigns.0.collection_ids[]": "77"}
    assert post_form(client, "/program/campaigns", form).status_code == 200
    campaign = program_of(t, shop)[1].campaigns[0]
    assert campaign.name == "C renamed" and campaign.collection_product_ids == [1, 2]


def test_tiers_out_of_order_are_reported_on_the_levels(client, shop):
    form = {"tiers.enabled": "true", "tiers.metric": "points_earned", "tiers.period": "lifetime",
            "tiers.grace_days": "0", "tiers.levels.0.key": "gold", "tiers.levels.0.name": "Gold",
            "tiers.levels.0.threshold": "1500", "tiers.levels.0.multiplier": "1.5", "tiers.levels.0.entry_points": "0",
            "tiers.levels.1.key": "bronze", "tiers.levels.1.name": "Bronze", "tiers.levels.1.threshold": "0",
            "tiers.levels.1.multiplier": "1", "tiers.levels.1.entry_points": "0"}
    response = post_form(client, "/program/tiers", form)
    assert "lowest to highest" in fields(response)["tiers.levels"]


def test_widget_texts_show_in_the_preview(client, shop):
    form = {"widget.program_name": "Maple Club", "widget.points_name": "leaves", "widget.accent_color": "#aa3300",
            "widget.launcher_text": "Club", "widget.position": "bottom-left"}
    assert post_form(client, "/program/widget", form).status_code == 200
    html = get_page(client, "/program").get_data(as_text=True)
    assert "Maple Club" in html and "--tessera-accent: #aa3300" in html and 'data-position="bottom-left"' in html
    bad = post_form(client, "/program/widget", {**form, "widget.accent_color": "red"})
    assert "widget.accent_color" in fields(bad)


def test_an_unknown_section_is_refused(client, shop):
    assert post_form(client, "/program/everything", {}).status_code == 422


class TestRewards:
    NEW = {"name": "10% off", "kind": "percent_off", "points_cost": "800", "value": "10", "code_expiry_days": "60",
           "combines_with_shipping": ["false", "true"], "enabled": ["false", "true"], "tier_keys[]": ""}

    def test_a_reward_is_added_changed_and_deleted(self, client, t, shop):
        added = post_form(client, "/program/rewards", self.NEW)
        assert added.status_code == 200, added.json
        reward_id = added.json["reward"]["id"]
        assert added.json["reward"]["points_cost"] == 800
        changed = post_form(client, f"/program/rewards/{reward_id}", {**self.NEW, "points_cost": "900"})
        assert changed.json["reward"]["points_cost"] == 900
        assert post_form(client, f"/program/rewards/{reward_id}/delete", {}).status_code == 200
        with t.db.scope(read_only=True) as session:
            assert session.get(Reward, reward_id).deleted_at is not None
        assert t.queue.pending() == 1  # its open codes get deactivated in Shopify

    def test_invalid_reward_fields_are_named(self, client, shop):
        response = post_form(client, "/program/rewards", {**self.NEW, "name": "", "points_cost": "lots"})
        assert response.status_code == 422
        assert set(fields(response)) == {"name", "points_cost"}

    def test_another_shops_reward_cannot_be_changed_or_deleted(self, client, t, shop, other_shop):
        with t.db.scope(read_only=True) as session:
            theirs = session.scalar(select(Reward.id).where(Reward.shop_id == other_shop.id))
        assert post_form(client, f"/program/rewards/{theirs}", self.NEW).status_code == 404
        assert post_form(client, f"/program/rewards/{theirs}/delete", {}).status_code == 404
        assert post_form(client, f"/program/rewards/{theirs}", self.NEW, shop=OTHER_SHOP).status_code == 200

    def test_reward_forms_need_the_csrf_token(self, client, shop):
        assert post_form(client, "/program/rewards", self.NEW, csrf="").status_code == 403


def test_program_forms_need_the_csrf_token(client, t, shop):
    for section in ("earning", "actions", "campaigns", "tiers", "referrals", "expiry", "widget"):
        assert post_form(client, f"/program/{section}", EARNING, csrf="").status_code == 403
    assert program_of(t, shop)[0].version == 1
