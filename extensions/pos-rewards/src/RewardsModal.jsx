import '@shopify/ui-extensions/preact';
import {render} from 'preact';
import {useEffect, useState} from 'preact/hooks';

import {newIdempotencyKey, settledRedemption} from '../../common/tessera-api.js';
import {posTessera} from './pos-api.js';
import {posMemberView, redemptionPath} from './pos-rewards.js';
import {useCartCustomerId} from './use-cart-customer.js';

export default async () => {
  render(<RewardsModal />, document.body);
};

const tessera = posTessera();
const t = (key, params) => shopify.i18n.translate(key, params);

function RewardsModal() {
  const customerId = useCartCustomerId();
  const [state, setState] = useState({});
  const load = () => {
    setState({});
    if (!customerId) return;
    tessera.get(`/api/v1/members/${customerId}`).then(({data}) => setState({member: data}),
      (error) => setState({missing: error.status === 404, problem: problemText(error)}));
  };
  useEffect(load, [customerId]);
  return (
    <s-page heading={t('modal.heading')}>
      <s-scroll-box>
        <MemberRewards customerId={customerId} state={state} reload={load} />
      </s-scroll-box>
    </s-page>
  );
}

function problemText(error) {
  if (error.code === 'no_app_permission') return t('modal.no_permission');
  return error.message || t('modal.unavailable');
}

function MemberRewards({customerId, state, reload}) {
  const view = posMemberView({customerId, member: state.member, missing: state.missing});
  if (state.problem && !state.missing) return <s-banner tone="critical" heading={state.problem} />;
  if (view.kind === 'no_customer') return <s-empty-state heading={t('modal.no_customer')} />;
  if (view.kind === 'not_a_member') return <s-empty-state heading={t('modal.not_a_member')} />;
  if (view.kind === 'loading') return <s-spinner accessibilityLabel={t('modal.loading')} />;
  return (
    <s-stack gap="base">
      <MemberSummary member={view.member} />
      {view.kind === 'blocked' && <s-banner tone="critical" heading={t('modal.blocked')} />}
      {view.kind === 'nothing_affordable' && <s-banner tone="info" heading={t('modal.not_enough_points')} />}
      {view.kind !== 'blocked' && <RewardList customerId={customerId} rows={view.rewards} reload={reload} />}
    </s-stack>
  );
}

function MemberSummary({member}) {
  return (
    <s-section heading={member.name || t('modal.member')}>
      <s-stack direction="inline" gap="base">
        <s-text type="strong">{t('modal.balance', {points: member.balance})}</s-text>
        {member.pending > 0 && <s-text color="subdued">{t('modal.pending', {points: member.pending})}</s-text>}
        {member.tier && <s-badge>{t('modal.tier', {tier: member.tier})}</s-badge>}
      </s-stack>
    </s-section>
  );
}

function RewardList({customerId, rows, reload}) {
  const [busy, setBusy] = useState(null);
  const [message, setMessage] = useState(null);
  async function redeem(reward) {
    setBusy(reward.id);
    setMessage(null);
    try {
      const first = await tessera.post(redemptionPath(customerId), {reward_id: reward.id,
        idempotency_key: newIdempotencyKey()});
      const done = await settledRedemption(tessera, first, (id) => `${redemptionPath(customerId)}/${id}`);
      await applyCode(done, setMessage);
      reload();
    } catch (error) {
      setMessage({tone: 'critical', text: error.message || t('modal.unavailable')});
    } finally {
      setBusy(null);
    }
  }
  return (
    <s-section heading={t('modal.rewards')}>
      <s-stack gap="base">
        {message && <s-banner tone={message.tone} heading={message.text} />}
        {rows.map(({reward, blocker}) => (
          <s-stack key={reward.id} direction="inline" gap="base" justifyContent="space-between">
            <s-text>{reward.name}</s-text>
            <s-text color="subdued">
              {blocker ? t(blocker.key, blocker.params) : t('modal.cost', {points: reward.points_cost ?? reward.min_points})}
            </s-text>
            {/* POS buttons take no separate accessibility label: the text names the reward. */}
            <s-button disabled={blocker != null || busy != null} loading={busy === reward.id}
              onClick={() => redeem(reward)}>
              {t('modal.redeem', {reward: reward.name})}
            </s-button>
          </s-stack>
        ))}
      </s-stack>
    </s-section>
  );
}

// The code is the member's either way: if the cart refuses it, staff can still type it in.
async function applyCode(redemption, setMessage) {
  if (!redemption.code) {
    setMessage({tone: 'warning', text: t('modal.still_pending')});
    return;
  }
  try {
    await shopify.cart.addCartCodeDiscount(redemption.code);
    shopify.toast.show(t('modal.applied', {code: redemption.code}));
    setMessage({tone: 'success', text: t('modal.applied', {code: redemption.code})});
  } catch (error) {
    setMessage({tone: 'warning', text: t('modal.not_applied', {code: redemption.code})});
  }
}
