// What the POS tile and modal say about the cart's customer, decided without Shopify globals
// so node --test covers it (test/pos-rewards.test.mjs).

// POS gives the cart's customer as a bare number (Cart API: `customer.id`).
export function cartCustomerId(cart) {
  const id = cart?.customer?.id;
  return Number.isSafeInteger(id) && id > 0 ? String(id) : null;
}

// The tile's line under its heading, as a locale key and its values.
export function tileSubheading({customerId, member}) {
  if (!customerId) return {key: 'tile.no_customer', params: {}};
  if (!member) return {key: 'tile.open', params: {}};
  return {key: 'tile.balance', params: {points: member.balance}};
}

// Only codes can go on the POS cart: store credit is spent at payment, not applied here.
export function rewardBlocker(reward) {
  if (reward.kind === 'store_credit') return {key: 'modal.not_a_code', params: {}};
  if (!reward.affordable) return {key: 'modal.needs_points', params: {points: reward.points_needed}};
  return null;
}

// The modal's content for the cart as it is now.
export function posMemberView({customerId, member, missing}) {
  if (!customerId) return {kind: 'no_customer'};
  if (missing) return {kind: 'not_a_member'};
  if (!member) return {kind: 'loading'};
  if (member.blocked) return {kind: 'blocked', member};
  const rewards = (member.rewards || []).map((reward) => ({reward, blocker: rewardBlocker(reward)}));
  const affordable = rewards.filter((row) => row.blocker == null);
  return {kind: affordable.length ? 'rewards' : 'nothing_affordable', member, rewards};
}

// Staff redeem through the member's own /api/v1 route, as the admin does.
export function redemptionPath(customerId) {
  return `/api/v1/members/${customerId}/redemptions`;
}
