import '@shopify/ui-extensions/preact';
import {render} from 'preact';
import {useEffect, useState} from 'preact/hooks';

import {TESSERA_APP_URL} from '../../common/config.js';
import {createTesseraClient, newIdempotencyKey, settledRedemption} from '../../common/tessera-api.js';
import {currentCart} from './earning.js';
import {memberRewardsOffer} from './member-rewards.js';

export default async () => {
  render(<CheckoutRewards />, document.body);
};

const tessera = createTesseraClient({baseUrl: TESSERA_APP_URL, getToken: () => shopify.sessionToken.get()});
const t = (key, params) => shopify.i18n.translate(key, params);

function CheckoutRewards() {
  const cart = currentCart();
  const cartKey = JSON.stringify(cart);
  const [estimate, setEstimate] = useState(null);
  useEffect(() => {
    tessera.post('/extensions/checkout/estimate', cart).then(({data}) => setEstimate(data), () => setEstimate(null));
  }, [cartKey]);
  return (
    <s-stack gap="base">
      {estimate?.points > 0 && (
        <s-banner heading={t('heading')} tone="info">
          <s-text>{t('estimate', {points: estimate.points})}</s-text>
        </s-banner>
      )}
      {estimate?.signed_in && <MemberRewards cart={cart} />}
    </s-stack>
  );
}

function MemberRewards({cart}) {
  const [member, setMember] = useState(null);
  const [message, setMessage] = useState(null);
  const [busy, setBusy] = useState(null);
  useEffect(() => {
    tessera.get('/extensions/checkout/member').then(({data}) => setMember(data), () => setMember(null));
  }, []);
  const appliedCodes = shopify.discountCodes.value.map((discount) => discount.code);
  const offer = memberRewardsOffer({member, instructions: shopify.instructions.value, cart, appliedCodes});
  if (offer.kind === 'nothing') return null;
  if (offer.kind === 'codes_unavailable') return <s-banner tone="warning">{t('codes_unavailable')}</s-banner>;
  async function redeem(reward) {
    setBusy(reward.id);
    setMessage(null);
    try {
      const first = await tessera.post('/extensions/checkout/redeem', {reward_id: reward.id,
        idempotency_key: newIdempotencyKey(), currency: cart.currency, subtotal: cart.subtotal,
        applied_codes: appliedCodes});
      const done = await settledRedemption(tessera, first, (id) => `/extensions/checkout/redemptions/${id}`);
      const result = await shopify.applyDiscountCodeChange({type: 'addDiscountCode', code: done.code});
      setMessage(result.type === 'success' ? {tone: 'success', text: t('applied', {code: done.code})}
        : {tone: 'warning', text: t('not_applied', {code: done.code})});
      setMember({...member, balance: done.balance ?? member.balance});
    } catch (error) {
      setMessage({tone: 'critical', text: error.message || t('unavailable')});
    } finally {
      setBusy(null);
    }
  }
  return (
    <s-section heading={t('rewards_heading', {points: member.balance})}>
      <s-stack gap="small-200">
        {message && <s-banner tone={message.tone}>{message.text}</s-banner>}
        {offer.rewards.map(({reward, blocker}) => {
          return (
            <s-stack key={reward.id} direction="inline" gap="base" alignItems="center" justifyContent="space-between">
              <s-stack gap="none">
                <s-text type="strong">{reward.name}</s-text>
                <s-text color="subdued">{blocker ? t(blocker.key, blocker.params) : t('cost', {points: reward.points_cost})}</s-text>
              </s-stack>
              <s-button disabled={blocker != null || busy != null} loading={busy === reward.id}
                accessibilityLabel={t('redeem_label', {reward: reward.name})} onClick={() => redeem(reward)}>
                {t('redeem')}
              </s-button>
            </s-stack>
          );
        })}
      </s-stack>
    </s-section>
  );
}
