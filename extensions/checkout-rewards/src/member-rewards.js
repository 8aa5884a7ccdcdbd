// What the checkout block offers a signed-in member, decided without Shopify globals so
// node --test covers it (test/member-rewards.test.js).
import {checkoutRewardBlocker} from '../../common/points.js';

// `instructions.discounts.canUpdateDiscountCodes` is false where codes cannot change (plans
// without checkout extensibility for it, draft order checkouts): say so instead of failing.
export function memberRewardsOffer({member, instructions, cart, appliedCodes}) {
  if (!member || member.blocked || member.rewards.length === 0) return {kind: 'nothing'};
  if (!instructions?.discounts?.canUpdateDiscountCodes) return {kind: 'codes_unavailable'};
  return {
    kind: 'rewards',
    rewards: member.rewards.map((reward) => ({
      reward,
      blocker: checkoutRewardBlocker(reward, {subtotal: cart.subtotal, appliedCodes}),
    })),
  };
}
