"""Games and giving: badges earned, challenge completions, leaderboard opt-ins, feedback answers
and donations to causes (issue 18).

Revision ID: 0010_games
Revises: 0009_billing
"""
import sqlalchemy as sa
from alembic import op

revision = "0010_games"
down_revision = "0009_billing"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_AT = sa.DateTime(timezone=True)


def _shop_and_member() -> list[sa.Column]:
    return [sa.Column("id", _ID, primary_key=True),
            sa.Column("shop_id", _ID, sa.ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
            sa.Column("member_id", _ID, sa.ForeignKey("members.id", ondelete="CASCADE"), nullable=False)]


def upgrade() -> None:
    op.create_table(
        "member_badges", *_shop_and_member(),
        sa.Column("badge_key", sa.String(40), nullable=False), sa.Column("name", sa.String(80), nullable=False),
        sa.Column("bonus_points", sa.Integer(), nullable=False), sa.Column("earned_at", _AT, nullable=False),
        sa.UniqueConstraint("shop_id", "member_id", "badge_key", name="uq_member_badges_member_badge"))
    op.create_table(
        "challenge_completions", *_shop_and_member(),
        sa.Column("challenge_key", sa.String(40), nullable=False),
        sa.Column("window_start", _AT, nullable=False), sa.Column("ends_at", _AT, nullable=False),
        sa.Column("completed_at", _AT, nullable=False), sa.Column("order_id", sa.BigInteger(), nullable=True),
        sa.Column("reward_points", sa.Integer(), nullable=False),
        sa.Column("reward_id", _ID, sa.ForeignKey("rewards.id", ondelete="SET NULL"), nullable=True),
        sa.Column("created_at", _AT, nullable=False),
        sa.UniqueConstraint("shop_id", "member_id", "challenge_key", "window_start",
                            name="uq_challenge_completions_window"))
    op.create_index("ix_challenge_completions_reward", "challenge_completions", ["shop_id", "reward_id"])
    op.create_table(
        "leaderboard_choices", *_shop_and_member(),
        sa.Column("opted_in", sa.Boolean(), nullable=False), sa.Column("updated_at", _AT, nullable=False),
        sa.UniqueConstraint("shop_id", "member_id", name="uq_leaderboard_choices_member"))
    op.create_table(
        "feedback_answers", *_shop_and_member(),
        sa.Column("order_id", sa.BigInteger(), nullable=False), sa.Column("nps", sa.Integer(), nullable=False),
        sa.Column("csat", sa.Integer(), nullable=False), sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("points", sa.Integer(), nullable=False), sa.Column("created_at", _AT, nullable=False),
        sa.UniqueConstraint("shop_id", "order_id", name="uq_feedback_answers_order"))
    op.create_index("ix_feedback_answers_shop_created", "feedback_answers", ["shop_id", "created_at"])
    op.create_index("ix_feedback_answers_member", "feedback_answers", ["shop_id", "member_id"])
    op.create_table(
        "donations", *_shop_and_member(),
        sa.Column("idempotency_key", sa.String(128), nullable=False),
        sa.Column("cause_key", sa.String(40), nullable=False), sa.Column("cause_name", sa.String(80), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False), sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("matched_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.UniqueConstraint("shop_id", "member_id", "idempotency_key", name="uq_donations_request"))
    op.create_index("ix_donations_shop_cause", "donations", ["shop_id", "cause_key", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_donations_shop_cause", table_name="donations")
    op.drop_table("donations")
    op.drop_index("ix_feedback_answers_member", table_name="feedback_answers")
    op.drop_index("ix_feedback_answers_shop_created", table_name="feedback_answers")
    op.drop_table("feedback_answers")
    op.drop_table("leaderboard_choices")
    op.drop_index("ix_challenge_completions_reward", table_name="challenge_completions")
    op.drop_table("challenge_completions")
    op.drop_table("member_badges")
