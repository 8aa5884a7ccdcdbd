// Tessera personal sections: the member's greeting, next reward in reach, challenge under way and
// the actions still to do (in the payload's order: the welcome path leads new members with the
// first-order bonus), and for guests what the current cart would earn. tessera-panel.js loads this
// file after the first payload; if it cannot load, the panel shows everything else.
window.TesseraPersonal = (proto, { el, BRANDS }) => Object.assign(proto, {
  // The storefront's own cart (Shopify's /cart.js: amounts in cents); the estimate uses the order rules.
  async loadEstimate() {
    this.estimate = null;
    if (this.member) return;
    const cart = await fetch((this.cfg.cartUrl || '/cart') + '.js', { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then((response) => (response.ok ? response.json() : null)).catch(() => null);
    if (!cart || !(cart.total_price > 0)) return;
    const amount = (cents) => (cents / 100).toFixed(2);
    this.estimate = await this.api('/estimate', {
      currency: cart.currency, subtotal: amount(cart.total_price),
      lines: (cart.items || []).filter((i) => i.product_id).map((i) => ({ product_id: i.product_id, amount: amount(i.final_line_price || 0) })),
    }).catch(() => null);
  },

  estimateView() {
    const e = this.estimate;
    return e && e.points > 0 && el('p', { class: 'tessera-card', 'data-estimate': '' }, this.t('guest.estimate', { points: this.count('points', e.points) }));
  },

  personalView() {
    const m = this.member;
    const next = m.next_reward;
    const challenge = (m.challenges || []).find((c) => !c.completed_at);
    const format = (v) => (challenge.kind === 'spend' ? this.money(v) : this.numbers.format(v));
    const todo = this.todoItems();
    return [
      m.first_name && el('h3', { class: 'tessera-greeting' }, this.t('member.greeting', { name: m.first_name })),
      next && el('p', { 'data-next-reward': '' }, next.state === 'to_go'
        ? this.t('member.next_reward', { points: this.count('points', next.points_needed), reward: next.name })
        : this.t('member.can_redeem', { reward: next.name })),
      challenge && el('p', {}, this.t('member.challenge', { name: challenge.name, progress: this.t('games.progress', { progress: format(challenge.progress), goal: format(challenge.goal) }) })),
    ].concat(todo.length ? [el('h3', {}, this.t(m.welcome_path ? 'member.welcome' : 'member.todo')), el('ul', { 'data-todo': '' }, todo)] : []);
  },

  // Open actions only (done ones stay in "ways to earn"); a follow or share is one item per network not yet claimed.
  todoItems() {
    const ways = Object.fromEntries((this.program.ways_to_earn || []).map((w) => [w.key, w]));
    const claimed = this.member.claimed_social || [];
    const item = (text, points) => el('li', { class: 'tessera-item' }, el('div', {}, text), el('span', { class: 'tessera-points' }, '+' + this.count('points', points)));
    return (this.member.actions || []).filter((a) => !a.done && ways[a.key]).flatMap((a) => (ways[a.key].networks
      ? ways[a.key].networks.filter((n) => !claimed.some((c) => c.action === a.key && c.network === n.network))
        .map((n) => item(this.t('earn.' + a.key, { network: BRANDS[n.network] || n.network }), a.points))
      : [item(this.wayText(ways[a.key]), a.points)]));
  },
});
