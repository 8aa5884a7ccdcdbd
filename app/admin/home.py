"""The admin home: the program at a glance and anything that needs the owner's attention."""
from __future__ import annotations

from app.admin.access import render_page, shop_session
from app.admin.blueprint import bp
from app.queries.analytics import shop_analytics
from app.queries.inbox_activity import status_counts
from app.queries.program_summary import program_summary
from app.runtime import tessera


@bp.get("/")
def home():
    now = tessera().clock()
    with shop_session(read_only=True) as (session, shop):
        figures = shop_analytics(session, shop, now=now, months=1).figures
        return render_page("admin/home.html", shop, figures=[figures[k] for k in (
            "members", "points_outstanding", "liability", "participation_rate")],
            summary=program_summary(session, shop, now=now), webhooks=status_counts(session, shop))
