// Tessera panel: the rewards program for guests and members, loaded by tessera.js on first use.
// Words come from the Liquid-rendered strings (the shopper's language); data from the App Proxy.
// Everything is built with DOM APIs: shopper and merchant data only ever goes in as text.
(() => {
  const widgets = new WeakMap();
  const BRANDS = { instagram: 'Instagram', facebook: 'Facebook', tiktok: 'TikTok', x: 'X', youtube: 'YouTube', pinterest: 'Pinterest' };
  const PURCHASE = { subtotal_with_shipping: 'earn.purchase_with_shipping', subtotal_with_tax: 'earn.purchase_with_tax', total: 'earn.purchase_total' };
  const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), select, textarea';
  // Member payload keys of the program-type modules whose views live in tessera-programs.js.
  const PROGRAMS = ['badges', 'next_badges', 'challenges', 'feedback_due', 'leaderboard', 'charity', 'membership', 'cashback', 'households_enabled'];
  const loading = {};

  // el('p', { class: 'x', onclick: fn }, 'text', node): children are appended as text or nodes.
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value == null || value === false) continue;
      if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
      else if (key === 'class') node.className = value;
      else node.setAttribute(key, value === true ? '' : value);
    }
    node.append(...children.flat(2).filter((child) => child != null && child !== false));
    return node;
  }

  const sameOriginPath = (path) => (typeof path === 'string' && /^\/(?!\/)/.test(path) ? path : null);
  const newKey = () => (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random().toString(16).slice(2));

  // Shopify money_format placeholders: {{amount}}, {{amount_no_decimals}}, ..._with_comma_separator ...
  function amount(value, placeholder) {
    const decimals = /no_decimals/.test(placeholder) || Number.isInteger(value) ? 0 : 2;
    const [whole, cents] = value.toFixed(decimals).split('.');
    const [group, point] = /comma/.test(placeholder) ? ['.', ','] : /apostrophe/.test(placeholder) ? ["'", '.']
      : /space/.test(placeholder) ? [' ', ','] : [',', '.'];
    return whole.replace(/\B(?=(\d{3})+(?!\d))/g, group) + (cents ? point + cents : '');
  }

  function locale(tag) {
    try { return Intl.getCanonicalLocales(tag)[0]; } catch { return 'en'; }
  }

  function remember(key) {
    try {
      if (sessionStorage.getItem(key)) return true;
      sessionStorage.setItem(key, '1');
    } catch { /* storage can be blocked; then we simply do not remember */ }
    return false;
  }

  class Widget {
    constructor(root) {
      this.root = root;
      this.cfg = root.dataset;
      this.strings = Object.fromEntries([...root.querySelector('[data-tessera-strings]').content.children]
        .map((node) => [node.dataset.key, node.textContent]));
      this.locale = locale(this.cfg.locale || document.documentElement.lang || 'en');
      this.numbers = new Intl.NumberFormat(this.locale);
      this.plurals = new Intl.PluralRules(this.locale);
      this.dates = new Intl.DateTimeFormat(this.locale, { dateStyle: 'medium' });
      this.uid = 'tessera-' + Math.random().toString(36).slice(2, 8);
      this.seq = 0;
      this.status = el('p', { class: 'tessera-note', role: 'status' });
    }

    // t('rewards.needed', { points: '20 points' }): {name} placeholders are filled as text.
    t(key, vars = {}) {
      return (this.strings[key] || '').replace(/\{(\w+)\}/g, (match, name) => (name in vars ? vars[name] : match));
    }

    // count('points', 3) -> "3 points", from "one:# point|other:# points" and the locale's plural rules.
    count(key, n) {
      const forms = Object.fromEntries((this.strings['count.' + key] || '').split('|').map((f) => f.split(/:(.*)/s)));
      return (forms[this.plurals.select(n)] || forms.other || '#').replace('#', this.numbers.format(n));
    }

    money(value) {
      const format = this.cfg.moneyFormat || '{{amount}}';
      return format.replace(/\{\{\s*(\w+)\s*\}\}/, (match, placeholder) => amount(Number(value), placeholder));
    }

    date(iso) { return this.dates.format(new Date(iso)); }
    id() { return `${this.uid}-${++this.seq}`; }

    // Errors carry the API's message (written for shoppers, in their locale); a network failure gets ours.
    async api(path, body) {
      const url = this.cfg.proxyPath.replace(/\/+$/, '') + path + (path.includes('?') ? '&' : '?')
        + 'locale=' + encodeURIComponent(this.locale);
      const response = await fetch(url, {
        method: body ? 'POST' : 'GET',
        headers: body ? { 'Content-Type': 'application/json', Accept: 'application/json' } : { Accept: 'application/json' },
        body: body ? JSON.stringify(body) : undefined,
        credentials: 'same-origin',
      }).catch(() => null);
      const data = response ? await response.json().catch(() => ({})) : {};
      if (!response || !response.ok) throw new Error((data.error && data.error.message) || this.t('error.generic'));
      return data;
    }

    async load() {
      const member = this.cfg.customerId ? this.api('/member') : null;
      [this.program, this.member] = await Promise.all([this.api('/program'), member]);
      if (this.member && this.member.guest) this.member = null;
      await Promise.all([this.loadPrograms(), this.loadPersonal()]);
    }

    // The program sections arrive only for a member with one of those modules on; if their script
    // cannot load, the panel still shows everything else (part() renders nothing for them).
    async loadPrograms() {
      const m = this.member;
      if (!m || !PROGRAMS.some((key) => (Array.isArray(m[key]) ? m[key].length : m[key]))) return;
      this.programs = await this.lazy(this.cfg.programsSrc, 'TesseraPrograms');
      if (this.programs) await this.loadGames();
    }

    part(view) { return this.programs ? this[view]() : null; }

    // A lazily loaded script of sections: window[name](Widget.prototype, helpers) adds its views.
    // A failed load is tried again next time; meanwhile the panel goes without those sections.
    lazy(src, name) {
      loading[name] = loading[name] || new Promise((resolve, reject) => {
        const script = el('script', { src });
        script.onload = () => resolve(window[name](Widget.prototype, { el, newKey, BRANDS }));
        script.onerror = (event) => { loading[name] = null; reject(event); };
        document.head.append(script);
      });
      return loading[name].then(() => true, () => false);
    }

    async loadPersonal() {
      this.personal = await this.lazy(this.cfg.personalSrc, 'TesseraPersonal');
      if (this.personal) await this.loadEstimate();
    }

    async refresh() {
      this.show(el('p', { class: 'tessera-muted' }, this.t('panel.loading')));
      this.body.setAttribute('aria-busy', 'true');
      try {
        await this.load();
        this.loaded = true;
        this.render();
      } catch {
        this.show(el('p', { class: 'tessera-error', role: 'alert' }, this.t('panel.error')),
          el('button', { type: 'button', class: 'tessera-button', onclick: () => this.refresh() }, this.t('panel.retry')));
      }
      this.body.removeAttribute('aria-busy');
    }

    async reloadMember() {
      try { this.member = await this.api('/member'); } catch { /* keep what we have */ }
    }

    show(...nodes) { this.body.replaceChildren(...nodes.flat(2).filter(Boolean)); }

    // Re-render from state, then put the focus back where the shopper was (data-focus=key).
    render(focusKey) {
      if (!this.loaded) return;
      const name = this.program.custom_program_name;
      if (this.titleEl && name) this.titleEl.textContent = name;
      this.show(this.welcomeView(), this.member ? this.memberView() : this.guestView());
      const target = focusKey && this.body.querySelector(`[data-focus="${CSS.escape(focusKey)}"]`);
      if (target) {
        if (!target.matches(FOCUSABLE)) target.tabIndex = -1;
        target.focus();
      }
    }

    announce(message) {
      this.status.textContent = message;
    }

    // ---- the floating panel (app embed) ----
    toggle() {
      if (this.panel && !this.panel.hidden) this.close();
      else this.open();
    }

    open() {
      if (!this.panel) this.buildPanel();
      this.panel.hidden = false;
      this.announce('');
      this.launcher.setAttribute('aria-expanded', 'true');
      this.panel.focus();
      if (!this.loaded && !this.loading) this.loading = this.refresh().finally(() => { this.loading = null; });
    }

    close() {
      this.panel.hidden = true;
      this.launcher.setAttribute('aria-expanded', 'false');
      this.launcher.focus();
    }

    buildPanel() {
      this.launcher = this.root.querySelector('[data-tessera-launcher]');
      this.titleEl = el('h2', { class: 'tessera-title', id: this.uid + '-title' }, this.t('panel.title'));
      this.body = el('div', { class: 'tessera-body' });
      this.panel = el('div', {
        class: 'tessera-panel', id: this.uid, role: 'dialog', 'aria-modal': 'true', 'aria-labelledby': this.titleEl.id,
        tabindex: '-1', hidden: true, onkeydown: (event) => this.onKey(event),
      }, el('div', { class: 'tessera-head' }, this.titleEl,
        el('button', { type: 'button', class: 'tessera-close', 'aria-label': this.t('panel.close'), onclick: () => this.close() },
          el('span', { 'aria-hidden': 'true' }, '\u00d7'))),
      this.body, this.status);
      this.root.append(this.panel);
      this.launcher.setAttribute('aria-controls', this.uid);
    }

    // Escape closes; Tab and Shift+Tab cycle inside the dialog (focus trap).
    onKey(event) {
      if (event.key === 'Escape') {
        event.stopPropagation();
        this.close();
        return;
      }
      if (event.key !== 'Tab') return;
      const items = [...this.panel.querySelectorAll(FOCUSABLE)].filter((node) => node.getClientRects().length);
      const first = items[0];
      const last = items[items.length - 1];
      const active = document.activeElement;
      if (event.shiftKey && (active === first || active === this.panel)) {
        event.preventDefault();
        last.focus();
      } else if (!event.shiftKey && active === last) {
        event.preventDefault();
        first.focus();
      }
    }

    // ---- the rewards page section (app block) ----
    mount() {
      this.body = this.root.querySelector('[data-tessera-body]');
      this.body.after(this.status);
      return this.refresh();
    }

    // ---- views ----
    guestView() {
      return [
        this.personal && this.estimateView(),
        el('p', {}, this.t('guest.intro')),
        el('div', { class: 'tessera-actions' },
          el('a', { class: 'tessera-link', href: this.cfg.registerUrl }, this.t('guest.join'))),
        el('p', { class: 'tessera-muted' }, this.t('guest.member_prompt'), ' ',
          el('a', { href: this.cfg.loginUrl }, this.t('guest.login'))),
        this.earnView(),
        this.rewardsView(this.program.rewards || [], false),
      ];
    }

    memberView() {
      return [this.personal && this.personalView(), this.balanceView(), this.part('membershipView'), this.part('householdView'), this.codesView(),
        this.rewardsView(this.member.rewards || [], true), this.part('cashbackView'), this.earnView(), this.referView(),
        this.part('gamesView'), this.historyView()];
    }

    balanceView() {
      const m = this.member;
      const card = el('div', { class: 'tessera-card' },
        el('p', { class: 'tessera-muted' }, this.t('member.balance')),
        el('p', { class: 'tessera-balance' }, this.count('points', m.balance)),
        m.pending > 0 && el('p', { class: 'tessera-muted' }, this.t('member.pending', { points: this.count('points', m.pending) })),
        m.tier && el('p', {}, this.t('member.tier', { tier: m.tier })));
      const next = m.tier_progress;
      if (next) {
        const target = Number(next.threshold) || 1;
        const now = Math.min(Number(next.current) || 0, target);
        const missing = Number(next.missing);
        const text = this.t('member.progress', {
          tier: next.tier,
          missing: next.metric === 'amount_spent' ? this.money(missing) : this.count(next.metric === 'order_count' ? 'orders' : 'points', missing),
        });
        card.append(el('div', { class: 'tessera-bar', role: 'progressbar', 'aria-label': text, 'aria-valuemin': 0, 'aria-valuemax': target, 'aria-valuenow': now },
          el('span', { style: `width: ${Math.round((now / target) * 100)}%` })));
        if (missing > 0) card.append(el('p', { class: 'tessera-muted', 'aria-hidden': 'true' }, text));
      }
      return card;
    }

    describe(reward) {
      switch (reward.kind) {
        case 'amount_off': return this.t('rewards.amount_off', { amount: this.money(reward.value) });
        case 'percent_off': return this.t('rewards.percent_off', { percent: this.numbers.format(Number(reward.value)) });
        case 'free_shipping': return this.t('rewards.free_shipping');
        case 'free_product': return this.t('rewards.free_product');
        case 'store_credit': return this.t('rewards.store_credit', { amount: this.money(reward.value) });
        case 'points_slider':
          return this.t('rewards.points_slider', { amount: this.money(1), points: this.count('points', reward.points_per_unit) });
        default: return reward.description;
      }
    }

    combination(reward) {
      if (reward.kind === 'store_credit') return this.t('rewards.combines_credit');
      // Shopify applies one shipping discount per order, so free shipping never stacks with another.
      const shipping = reward.kind === 'free_shipping';
      const allowed = ['order', 'product', 'shipping'].filter((kind) => reward.combines_with && reward.combines_with[kind] && !(shipping && kind === 'shipping'));
      const note = shipping ? ' ' + this.t('rewards.one_shipping') : '';
      if (!allowed.length) return this.t('rewards.combines_none') + note;
      if (allowed.length === 3) return this.t('rewards.combines_all');
      const list = new Intl.ListFormat(this.locale).format(allowed.map((kind) => this.t('rewards.combines_' + kind)));
      return this.t('rewards.combines_some', { list }) + note;
    }

    cost(reward) { return reward.min_points || reward.points_cost || 0; }

    rewardsView(rewards, redeemable) {
      const items = rewards.map((reward) => {
        const info = el('div', {}, el('strong', {}, reward.name),
          el('span', { class: 'tessera-muted' }, this.describe(reward)),
          reward.min_subtotal && el('span', { class: 'tessera-muted' }, this.t('rewards.min_subtotal', { amount: this.money(reward.min_subtotal) })));
        const item = el('li', { class: 'tessera-item' }, info, el('span', { class: 'tessera-points' }, this.count('points', this.cost(reward))));
        if (!redeemable) return item;
        if (!reward.affordable) info.append(el('span', { class: 'tessera-muted' }, this.t('rewards.needed', { points: this.count('points', reward.points_needed) })));
        item.append(el('button', {
          type: 'button', class: 'tessera-button', disabled: !reward.affordable, 'data-focus': 'reward:' + reward.id,
          onclick: () => this.confirm(item, reward),
        }, this.t('rewards.redeem')));
        return item;
      });
      return [el('h3', {}, this.t('rewards.heading')),
        items.length ? el('ul', {}, items) : el('p', { class: 'tessera-muted' }, this.t('rewards.empty'))];
    }

    // The confirm step: what it costs and what it combines with, before any point is spent.
    confirm(item, reward) {
      const key = newKey();
      const title = el('strong', {});
      const setTitle = (points) => { title.textContent = this.t('rewards.confirm_title', { reward: reward.name, points: this.count('points', points) }); };
      let input = null;
      if (reward.kind === 'points_slider') {
        const step = reward.points_per_unit || 1;
        const max = Math.min(reward.max_points || Infinity, this.member.balance - (this.member.balance % step));
        input = el('input', { type: 'number', id: this.id(), min: this.cost(reward), max, step, value: this.cost(reward), oninput: () => setTitle(Number(input.value) || 0) });
      }
      setTitle(this.cost(reward));
      const error = el('p', { class: 'tessera-error', role: 'alert' });
      const go = el('button', { type: 'button', class: 'tessera-button', onclick: () => this.redeem(reward, key, input, go, error) }, this.t('rewards.confirm'));
      item.replaceChildren(el('div', {}, title,
        el('p', { class: 'tessera-muted' }, this.combination(reward)),
        input && el('div', { class: 'tessera-field' }, el('label', { for: input.id }, this.t('rewards.slider_label')), input),
        error,
        el('div', { class: 'tessera-actions' }, go,
          el('button', { type: 'button', class: 'tessera-button tessera-button--quiet', onclick: () => this.render('reward:' + reward.id) }, this.t('rewards.cancel')))));
      go.focus();
    }

    // The same idempotency key is reused if the shopper retries, so a retry never spends twice.
    async redeem(reward, key, input, button, error) {
      const body = { reward_id: reward.id, idempotency_key: key };
      if (input) body.points = Number(input.value);
      button.disabled = true;
      error.textContent = '';
      this.announce(this.t('rewards.working'));
      try {
        let result = await this.api('/redeem', body);
        if (result.status === 'pending') {
          this.announce(this.t('rewards.pending'));
          result = await this.awaitRedemption(result.redemption_id);
        }
        await this.reloadMember();
        this.member.balance = result.balance;
        if (!(this.member.codes || []).some((c) => c.code === result.code)) {
          this.member.codes = [{ ...result, reward: reward.name }, ...(this.member.codes || [])];
        }
        this.fresh = result.code;
        this.render('copy:' + result.code);
        this.announce(this.t('code.ready'));
      } catch (failure) {
        error.textContent = failure.message;
        this.announce('');
        button.disabled = false;
        button.focus();
      }
    }

    // After a 202 the worker finishes the redemption: ask again after 1, 2, 4... (at most 15) seconds
    // until it has a code or the points are back. Giving up re-enables the button, whose retry
    // reuses the idempotency key and so resumes the same redemption.
    async awaitRedemption(id) {
      for (let wait = 1000, waited = 0; waited < 180000; waited += wait, wait = Math.min(wait * 2, 15000)) {
        await new Promise((resolve) => { setTimeout(resolve, wait); });
        const state = await this.api('/redemptions/' + encodeURIComponent(id)).catch(() => null);
        if (state && state.status === 'failed') throw new Error(state.message || this.t('error.generic'));
        if (state && state.status !== 'pending') return state;
      }
      throw new Error(this.t('rewards.pending'));
    }

    // A free product's code only takes that product's price off: put one in the cart first, then
    // apply the code (Shopify's /discount/CODE keeps it for checkout and redirects to the cart).
    async addAndApply(code, target, button) {
      button.disabled = true;
      const response = await fetch((this.cfg.cartAddUrl || '/cart/add') + '.js', {
        method: 'POST', credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({ items: [{ id: Number(code.variant_id), quantity: 1 }] }),
      }).catch(() => null);
      if (!response || !response.ok) {
        const data = response ? await response.json().catch(() => ({})) : {};
        this.announce(data.description || this.t('error.generic'));
        button.disabled = false;
        return;
      }
      window.location.assign(target);
    }

    codeView(code) {
      const id = this.id();
      const input = el('input', { id, value: code.code, readonly: true });
      const copy = el('button', {
        type: 'button', class: 'tessera-button tessera-button--quiet', 'data-focus': 'copy:' + code.code,
        onclick: () => this.copy(code.code, copy, input),
      }, this.t('code.copy'));
      const apply = sameOriginPath(code.apply_url);
      const target = apply && apply + '?redirect=' + encodeURIComponent(this.cfg.cartUrl || '/cart');
      let action = apply && el('a', { class: 'tessera-link', href: target }, this.t('code.apply'));
      if (apply && code.kind === 'free_product' && code.variant_id) {
        action = el('button', { type: 'button', class: 'tessera-button', 'data-action': 'add-and-apply', onclick: () => this.addAndApply(code, target, action) }, this.t('code.add_and_apply'));
      }
      return el('div', { class: 'tessera-code' },
        el('div', { class: 'tessera-field' }, el('label', { for: id }, this.t('code.label')), input, copy),
        action && el('div', { class: 'tessera-actions' }, action),
        code.expires_at && el('p', { class: 'tessera-muted' }, this.t('code.expires', { date: this.date(code.expires_at) })));
    }

    async copy(text, button, input) {
      try {
        await navigator.clipboard.writeText(text);
        button.textContent = this.t('code.copied');
        this.announce(this.t('code.copied'));
      } catch {
        input.select();
        this.announce(this.t('code.copy_failed'));
      }
    }

    codesView() {
      const codes = this.member.codes || [];
      if (!codes.length) return null;
      return [el('h3', {}, this.t('code.heading')), el('ul', {}, codes.map((code) => el('li', {
        class: code.code === this.fresh ? 'tessera-item tessera-item--fresh' : 'tessera-item',
      }, el('div', {}, el('strong', {}, code.reward), this.codeView(code)))))];
    }

    wayText(way) {
      if (way.key === 'purchase') {
        return this.t(PURCHASE[way.base] || 'earn.purchase', { points: this.count('points', Number(way.points_per_unit)), amount: this.money(1) });
      }
      if (way.key === 'order_streak' && way.orders) {
        return this.t('earn.order_streak', { orders: this.count('orders', way.orders), days: this.count('days', way.days) });
      }
      return this.strings['earn.' + way.key] ? this.t('earn.' + way.key) : way.label;
    }

    earnView() {
      const items = [];
      for (const way of this.program.ways_to_earn || []) {
        const points = way.points > 0 && el('span', { class: 'tessera-points' }, '+' + this.count('points', way.points));
        if (way.networks) items.push(...way.networks.map((network) => this.socialItem(way, network, points)));
        else items.push(el('li', { class: 'tessera-item', 'data-focus': way.key }, el('div', {}, this.wayText(way)), points));
        if (way.key === 'birthday' && this.member && !this.member.birthday_set) items.push(this.birthdayItem());
      }
      return [el('h3', {}, this.t('earn.heading')), el('ul', {}, items)];
    }

    socialItem(way, network, points) {
      const focus = `${way.key}:${network.network}`;
      const labelId = this.id();
      const item = el('li', { class: 'tessera-item', 'data-focus': focus },
        el('div', { id: labelId }, this.t('earn.' + way.key, { network: BRANDS[network.network] || network.network })),
        points && points.cloneNode(true));
      if (!this.member) return item;
      const claimed = (this.member.claimed_social || []).some((c) => c.action === way.key && c.network === network.network);
      if (claimed) {
        item.append(el('span', { class: 'tessera-muted' }, this.t('earn.done')));
        return item;
      }
      item.append(el('button', {
        type: 'button', class: 'tessera-button tessera-button--quiet', 'aria-describedby': labelId,
        onclick: () => this.claimSocial(way, network, focus),
      }, this.t(way.key === 'social_follow' ? 'earn.follow' : 'earn.share')));
      return item;
    }

    async claimSocial(way, network, focus) {
      // Opened before any await, so popup blockers see the shopper's click.
      if (/^https:\/\//.test(network.url)) window.open(network.url, '_blank', 'noopener');
      await this.claim({ action: way.key, network: network.network }, focus,
        (result) => this.t('earn.claimed', { points: this.count('points', result.points) }));
    }

    async claim(body, focus, message) {
      try {
        const result = await this.api('/claim', body);
        await this.reloadMember();
        this.render(focus);
        this.announce(message(result));
      } catch (error) {
        this.announce(error.message);
      }
    }

    birthdayItem() {
      const input = el('input', { type: 'date', id: this.id(), required: true, autocomplete: 'bday' });
      return el('li', { class: 'tessera-item' }, el('form', {
        class: 'tessera-field',
        onsubmit: (event) => {
          event.preventDefault();
          this.claim({ action: 'birthday', birthday: input.value }, 'birthday', () => this.t('earn.birthday_saved'));
        },
      }, el('label', { for: input.id }, this.t('earn.birthday_label')), input,
      el('button', { type: 'submit', class: 'tessera-button' }, this.t('earn.birthday_save'))));
    }

    referralDiscount(offer) {
      if (offer.referee_discount_kind === 'percent_off') return this.t('referral.percent_off', { percent: this.numbers.format(Number(offer.referee_discount_value)) });
      if (offer.referee_discount_kind === 'free_shipping') return this.t('referral.free_shipping');
      return this.t('referral.amount_off', { amount: this.money(offer.referee_discount_value) });
    }

    referView() {
      const offer = this.program.referrals;
      const path = sameOriginPath(this.member.referral_path);
      if (!offer || !offer.enabled || !path) return null;
      // The store's root (routes.root_url) plus the member's path: /?ref=CODE on a live store.
      const link = new URL((this.cfg.rootUrl || '/').replace(/\/?$/, '/') + path.slice(1), location.origin).href;
      const id = this.id();
      const input = el('input', { id, value: link, readonly: true });
      const copy = el('button', { type: 'button', class: 'tessera-button tessera-button--quiet', onclick: () => this.copy(link, copy, input) }, this.t('referral.copy'));
      const share = navigator.share && el('button', {
        type: 'button', class: 'tessera-button tessera-button--quiet',
        onclick: () => navigator.share({ title: this.t('referral.share_title', { shop: this.cfg.shopName }), url: link }).catch(() => {}),
      }, this.t('referral.share'));
      return [el('h3', {}, this.t('referral.heading')),
        el('p', {}, this.t('referral.offer', { discount: this.referralDiscount(offer), points: this.count('points', offer.referrer_points) })),
        el('div', { class: 'tessera-field' }, el('label', { for: id }, this.t('referral.link_label')), input),
        el('div', { class: 'tessera-actions' }, copy, share)];
    }

    historyView() {
      const entries = this.member.recent_activity || [];
      const items = entries.map((entry) => {
        const pending = entry.pending_until && Date.parse(entry.pending_until) > Date.now();
        return el('li', { class: 'tessera-item' },
          el('div', {}, el('span', {}, entry.reason),
            el('span', { class: 'tessera-muted' }, this.date(entry.at),
              pending && ' \u00b7 ' + this.t('history.pending_until', { date: this.date(entry.pending_until) }))),
          el('span', { class: 'tessera-points' + (entry.points < 0 ? ' tessera-points--minus' : '') },
            (entry.points > 0 ? '+' : '') + this.numbers.format(entry.points)));
      });
      return [el('h3', {}, this.t('history.heading')),
        items.length ? el('ul', {}, items) : el('p', { class: 'tessera-muted' }, this.t('history.empty'))];
    }

    // ---- referral landing (?ref=CODE) ----
    welcomeView() {
      const ref = this.ref;
      if (!ref) return null;
      const card = el('div', { class: 'tessera-card', 'data-focus': 'welcome' }, el('h3', {}, this.t('referral.welcome_title')));
      if (ref.result) {
        card.append(el('p', {}, this.t('referral.welcome_ready')), this.codeView(ref.result));
      } else if (!this.cfg.customerId) {
        const input = el('input', { type: 'email', id: this.id(), required: true, autocomplete: 'email' });
        card.append(el('p', {}, this.t('referral.welcome_intro')), el('form', {
          class: 'tessera-field',
          onsubmit: (event) => { event.preventDefault(); this.claimWelcome(input.value); },
        }, el('label', { for: input.id }, this.t('referral.email_label')), input,
        el('button', { type: 'submit', class: 'tessera-button' }, this.t('referral.get_code'))));
      }
      if (ref.error) card.append(el('p', { class: 'tessera-error', role: 'alert' }, ref.error));
      return card;
    }

    // A link to one section (the feedback form): open the panel, then focus it once loaded.
    async landOn(section) {
      if (this.cfg.tessera === 'embed') this.open();
      if (this.loading) await this.loading;
      this.render(section);
    }

    async landReferral(code) {
      if (remember('tessera-ref:' + code)) return;
      this.ref = { code };
      if (this.cfg.tessera === 'embed') this.open();
      else this.render();
      if (this.cfg.customerId) await this.claimWelcome();
    }

    // Records the referral, shows the welcome code and tags the cart so the order is attributed.
    async claimWelcome(email) {
      const ref = this.ref;
      try {
        ref.result = await this.api('/referral', email ? { code: ref.code, email } : { code: ref.code });
        ref.error = null;
        const attribute = ref.result.cart_attribute;
        if (attribute) {
          await fetch(this.cfg.cartUpdateUrl + '.js', {
            method: 'POST', credentials: 'same-origin',
            headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
            body: JSON.stringify({ attributes: { [attribute.name]: attribute.value } }),
          }).catch(() => {});
        }
      } catch (error) {
        ref.error = error.message;
      }
      this.render('welcome');
    }
  }

  const widget = (root) => {
    if (!widgets.has(root)) widgets.set(root, new Widget(root));
    return widgets.get(root);
  };

  window.TesseraPanel = {
    mount: (root) => widget(root).mount(),
    toggle: (root) => widget(root).toggle(),
    landReferral: (root, code) => widget(root).landReferral(code),
    landOn: (root, section) => widget(root).landOn(section),
  };
})();
