// Pure helpers the extensions share: what to say about points, orders and rewards. No Shopify
// globals here, so node --test covers them (extensions/common/test).

export function numericId(gid) {
  const tail = String(gid ?? '').split('/').pop();
  return /^[0-9]{1,19}$/.test(tail) ? tail : null;
}

// The order status block's sentence, as a locale key and its values.
export function orderPointsMessage(summary) {
  if (!summary || !summary.known) return {key: 'order.processing', params: {}};
  if (summary.earned <= 0 && summary.taken_back <= 0) return {key: 'order.no_points', params: {}};
  if (summary.pending > 0 && summary.pending_until) {
    return {key: 'order.earned_pending', params: {points: summary.earned, date: summary.pending_until}};
  }
  if (summary.taken_back > 0) {
    return {key: 'order.earned_taken_back', params: {points: summary.earned, taken_back: summary.taken_back}};
  }
  return {key: 'order.earned', params: {points: summary.earned}};
}

// Tier progress (Tessera's `tier_progress`: next tier, threshold, current) as a 0..1 fraction
// for a progress bar, or null without tiers or above the top tier.
export function tierProgressFraction(progress) {
  if (!progress || !progress.tier) return null;
  const threshold = Number(progress.threshold);
  const current = Number(progress.current);
  if (!(threshold > 0)) return 1;
  return Math.min(1, Math.max(0, current / threshold));
}

// Mirrors Tessera's own check (app/loyalty/checkout.py), so the button says why before a
// click; Tessera checks again when redeeming.
export function checkoutRewardBlocker(reward, {subtotal, appliedCodes = []}) {
  if (reward.kind === 'store_credit') return {key: 'checkout.not_a_code'};
  if (!reward.affordable) return {key: 'checkout.needs_points', params: {points: reward.points_needed}};
  const minimum = reward.min_subtotal == null ? null : Number(reward.min_subtotal);
  if (minimum != null && Number(subtotal) < minimum) {
    return {key: 'checkout.below_minimum', params: {amount: minimum - Number(subtotal)}};
  }
  const combines = reward.combines_with || {};
  if (appliedCodes.length && !combines.order && !combines.product && !combines.shipping) {
    return {key: 'checkout.does_not_combine', params: {codes: appliedCodes.join(', ')}};
  }
  return null;
}

// The checkout's cart as Tessera's estimate endpoint reads it.
export function cartForEstimate({lines, subtotal, shipping, tax}) {
  return {
    currency: subtotal?.currencyCode ?? null,
    subtotal: moneyText(subtotal),
    shipping: moneyText(shipping),
    tax: moneyText(tax),
    lines: (lines || []).map((line) => ({
      product_id: line.merchandise?.product?.id ?? null,
      amount: moneyText(line.cost?.totalAmount),
    })),
  };
}

function moneyText(money) {
  return money == null || money.amount == null ? null : String(money.amount);
}

export function lastEntries(entries, count = 5) {
  return (entries || []).slice(-count).reverse();
}

// The admin's "adjust points" form: a whole, non-zero number of points and a reason, as the
// /api/v1 adjustments endpoint requires. Problems as locale keys, by field.
export function adjustmentProblems({points, reason}) {
  const problems = {};
  const number = Number(points);
  if (points === '' || points == null || !Number.isInteger(number) || number === 0) {
    problems.points = 'adjust.points_invalid';
  }
  if (!String(reason ?? '').trim()) problems.reason = 'adjust.reason_required';
  return problems;
}
