// Tessera program sections: the games and giving modules (badges, challenges, feedback, leaderboard,
// donations) and the pooled ones (paid membership, cashback, household). tessera-panel.js loads this
// file only when the member's payload has one of those modules on, so a store without them never
// downloads it; it adds these views to the panel's widgets (same words, same DOM-only building).
window.TesseraPrograms = (proto, { el, newKey }) => Object.assign(proto, {
  // ---- pooled programs: paid membership, cashback, household ----
  membershipView() {
    const m = this.member.membership;
    return m && m.active && el('p', { class: 'tessera-card' }, this.t('pooled.member_until', { name: m.name, date: this.date(m.ends_at) }));
  },

  cashbackView() {
    const c = this.member.cashback;
    if (!c) return null;
    return [el('h3', {}, this.t('pooled.cashback')),
      el('p', {}, this.t('pooled.cashback_total', { earned: this.money(c.earned), pending: this.money(c.pending) })),
      el('ul', {}, c.orders.map((o) => el('li', { class: 'tessera-item' },
        el('span', {}, this.t('pooled.cashback_order', { order: o.order, amount: this.money(o.amount) })),
        el('span', { class: 'tessera-muted' }, o.pending_until ? this.t('pooled.cashback_pending', { date: this.date(o.pending_until) }) : this.t('pooled.cashback_paid')))))];
  },

  householdView() {
    if (!this.member.households_enabled) return null;
    const h = this.member.household;
    const token = !h && new URLSearchParams(window.location.search).get('tessera_household');
    const error = el('p', { class: 'tessera-error', role: 'alert' });
    const send = (path, body, done) => this.api('/household/' + path, body)
      .then(async (result) => { this.invited = result.invitation; await this.reloadMember(); this.render('household'); this.announce(this.t(done)); })
      .catch((failure) => { error.textContent = failure.message; });
    const email = el('input', { type: 'email', id: this.id(), autocomplete: 'off' });
    const invite = el('form', { class: 'tessera-field', onsubmit: (event) => { event.preventDefault(); send('invite', { email: email.value }, 'pooled.invited'); } },
      el('label', { for: email.id }, this.t('pooled.invite_label')), email,
      el('button', { type: 'submit', class: 'tessera-button' }, this.t('pooled.invite')));
    const link = this.invited && el('input', { id: this.id(), value: this.invited.accept_url, readonly: true });
    return [el('h3', { tabindex: '-1', 'data-focus': 'household' }, this.t('pooled.household')),
      ...(h ? [el('p', {}, this.t('pooled.pool', { points: this.count('points', h.balance) })), el('ul', {}, h.members.map((name) => el('li', {}, name)))]
        : [el('p', { class: 'tessera-muted' }, this.t('pooled.household_intro'))]),
      token && el('button', { type: 'button', class: 'tessera-button', onclick: () => send('accept', { token }, 'pooled.joined') }, this.t('pooled.accept')),
      link && el('div', { class: 'tessera-field' }, el('label', { for: link.id }, this.t('pooled.invite_link')), link),
      (!h || h.members.length < h.max_members) && invite, error,
      h && el('button', { type: 'button', class: 'tessera-button tessera-button--quiet', onclick: () => send('leave', {}, 'pooled.left') }, this.t('pooled.leave'))];
  },

  // ---- games and giving: badges, challenges, feedback, leaderboard, donations ----
  gamesView() {
    return [this.badgesView(), this.challengesView(), this.feedbackView(), this.leaderboardView(), this.donateView()].flat();
  },

  async loadGames() {
    this.board = this.member && this.member.leaderboard ? await this.api('/leaderboard').catch(() => null) : null;
  },

  // Screen readers get the text as the bar's label; sighted shoppers see the bar and the text.
  meter(now, goal, text) {
    return [el('div', { class: 'tessera-bar', role: 'progressbar', 'aria-label': text, 'aria-valuemin': 0, 'aria-valuemax': goal, 'aria-valuenow': Math.min(now, goal) },
      el('span', { style: `width: ${Math.round(Math.min(now / goal, 1) * 100)}%` })), el('span', { class: 'tessera-muted', 'aria-hidden': 'true' }, text)];
  },

  progress(now, goal, format) {
    return this.t('games.progress', { progress: format(now), goal: format(goal) });
  },

  badgesView() {
    const { badges = [], next_badges: next = [] } = this.member;
    if (!badges.length && !next.length) return null;
    const n = (v) => this.numbers.format(v);
    return [el('h3', {}, this.t('games.badges')), el('ul', {},
      badges.map((b) => el('li', { class: 'tessera-item' }, el('strong', {}, b.name), el('span', { class: 'tessera-muted' }, this.t('games.earned', { date: this.date(b.earned_at) })))),
      next.map((b) => el('li', { class: 'tessera-item' }, el('div', {}, b.name, this.meter(b.progress, b.goal, this.progress(b.progress, b.goal, n))))))];
  },

  challengesView() {
    const list = this.member.challenges || [];
    if (!list.length) return null;
    return [el('h3', {}, this.t('games.challenges')), el('ul', {}, list.map((c) => {
      const format = (v) => (c.kind === 'spend' ? this.money(v) : this.numbers.format(v));
      const text = c.completed_at ? this.t('games.completed') : this.progress(c.progress, c.goal, format);
      return el('li', { class: 'tessera-item' }, el('div', {}, el('strong', {}, c.name), this.meter(Number(c.progress), Number(c.goal), text),
        c.ends_at && el('span', { class: 'tessera-muted' }, this.t('games.ends', { date: this.date(c.ends_at) }))),
      c.reward_points > 0 && el('span', { class: 'tessera-points' }, '+' + this.count('points', c.reward_points)));
    }))];
  },

  // Radio groups in fieldsets: arrow keys move within a scale, the legend names it.
  scale(name, from, to, legend) {
    return el('fieldset', { class: 'tessera-scale' }, el('legend', {}, legend), Array.from({ length: to - from + 1 }, (_, i) => {
      const id = this.id();
      return el('span', {}, el('input', { type: 'radio', name, id, value: from + i, required: true }), el('label', { for: id }, String(from + i)));
    }));
  },

  feedbackView() {
    const order = (this.member.feedback_due || [])[0];
    if (!order) return this.thanked ? el('p', { 'data-focus': 'feedback' }, this.t('feedback.thanks')) : null;
    const comment = el('textarea', { id: this.id(), name: 'comment', maxlength: 1000, rows: 2 });
    const error = el('p', { class: 'tessera-error', role: 'alert' });
    const form = el('form', {
      'data-focus': 'feedback',
      onsubmit: (event) => {
        event.preventDefault();
        const data = new FormData(form);
        this.thanked = true;
        this.act('/feedback', { order_id: order.order_id, nps: Number(data.get('nps')), csat: Number(data.get('csat')), comment: comment.value || null }, 'feedback', error, 'feedback.thanks');
      },
    }, this.scale('nps', 0, 10, this.t('feedback.nps')), this.scale('csat', 1, 5, this.t('feedback.csat')),
    el('div', { class: 'tessera-field' }, el('label', { for: comment.id }, this.t('feedback.comment')), comment), error,
    el('button', { type: 'submit', class: 'tessera-button' }, this.t('feedback.send')));
    return [el('h3', {}, this.t('feedback.heading', { order: order.name })),
      el('p', { class: 'tessera-muted' }, this.t('feedback.intro', { points: this.count('points', order.points) })), form];
  },

  leaderboardView() {
    if (!this.member.leaderboard) return null;
    const id = this.id();
    const box = el('input', { type: 'checkbox', id, checked: this.member.leaderboard.opted_in, 'data-focus': 'board', onchange: () => this.optIn(box) });
    const { entries = [], me } = this.board || {};
    return [el('h3', {}, this.t('board.heading')),
      el('p', {}, box, ' ', el('label', { for: id }, this.t('board.opt_in'))),
      entries.length ? el('ol', {}, entries.map((r) => el('li', { class: 'tessera-item' }, el('span', {}, this.numbers.format(r.rank) + '. ' + r.name), el('span', { class: 'tessera-points' }, this.count('points', r.points)))))
        : el('p', { class: 'tessera-muted' }, this.t('board.empty')),
      me && me.rank && el('p', {}, this.t('board.me', { rank: this.numbers.format(me.rank), points: this.count('points', me.points) }))];
  },

  async optIn(box) {
    try {
      await this.api('/leaderboard/opt-in', { opted_in: box.checked });
      await this.reloadMember();
      await this.loadGames();
      this.render('board');
    } catch (failure) {
      box.checked = !box.checked;
      this.announce(failure.message);
    }
  },

  donateView() {
    const c = this.member.charity;
    if (!c) return null;
    const cause = el('select', { id: this.id() }, c.causes.map((x) => el('option', { value: x.key }, x.name)));
    const points = el('input', { type: 'number', id: this.id(), min: c.min_points, step: 1, value: c.min_points, required: true });
    const error = el('p', { class: 'tessera-error', role: 'alert' });
    const key = newKey(); // reused by a retry of the same form, so a retried click gives once
    return [el('h3', {}, this.t('donate.heading')),
      el('ul', {}, c.causes.map((x) => el('li', { class: 'tessera-item' }, el('div', {}, el('strong', {}, x.name), x.description && el('span', { class: 'tessera-muted' }, x.description))))),
      el('p', { class: 'tessera-muted' }, this.t('donate.value', { points: this.count('points', c.points_per_unit), amount: this.money(1) })),
      Number(c.matching_percent) > 0 && el('p', {}, this.t('donate.matching', { percent: this.numbers.format(Number(c.matching_percent)) })),
      el('form', {
        'data-focus': 'donate',
        onsubmit: (event) => {
          event.preventDefault();
          this.act('/donate', { cause: cause.value, points: Number(points.value), client_id: key }, 'donate', error, 'donate.thanks');
        },
      }, el('div', { class: 'tessera-field' }, el('label', { for: cause.id }, this.t('donate.cause')), cause),
      el('div', { class: 'tessera-field' }, el('label', { for: points.id }, this.t('donate.points')), points),
      error, el('button', { type: 'submit', class: 'tessera-button' }, this.t('donate.give')))];
  },

  async act(path, body, focus, error, done) {
    try {
      await this.api(path, body);
      await this.reloadMember();
      this.render(focus);
      this.announce(this.t(done));
    } catch (failure) {
      error.textContent = failure.message;
    }
  },
});
