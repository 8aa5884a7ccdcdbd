import '@shopify/ui-extensions/preact';
import {render} from 'preact';
import {useEffect, useState} from 'preact/hooks';

import {TESSERA_APP_URL} from '../../common/config.js';
import {tierProgressFraction} from '../../common/points.js';
import {createTesseraClient, newIdempotencyKey, settledRedemption} from '../../common/tessera-api.js';

export default async () => {
  render(<RewardsPage />, document.body);
};

const tessera = createTesseraClient({baseUrl: TESSERA_APP_URL, getToken: () => shopify.sessionToken.get()});
const t = (key, params) => shopify.i18n.translate(key, params);

function RewardsPage() {
  const [member, setMember] = useState(null);
  const [problem, setProblem] = useState(null);
  const reload = () => tessera.get('/extensions/customer-account/member')
    .then(({data}) => setMember(data), (error) => setProblem(error.message || t('errors.unavailable')));
  useEffect(() => { reload(); }, []);
  if (problem) return <s-page heading={t('page.heading')}><s-banner tone="critical">{problem}</s-banner></s-page>;
  if (!member) return <s-page heading={t('page.heading')}><s-spinner accessibilityLabel={t('page.loading')} /></s-page>;
  return (
    <s-page heading={t('page.heading')}>
      <s-stack gap="base">
        <Balance member={member} />
        <Rewards member={member} onRedeemed={reload} />
        <Codes codes={member.codes} />
        <Referral url={member.referral_url} />
        <History entries={member.recent_activity} />
      </s-stack>
    </s-page>
  );
}

function Balance({member}) {
  const fraction = tierProgressFraction(member.tier_progress);
  return (
    <s-section heading={t('balance.heading')}>
      <s-stack gap="small-200">
        <s-heading>{t('balance.points', {count: member.balance})}</s-heading>
        {member.pending > 0 && <s-text color="subdued">{t('balance.pending', {count: member.pending})}</s-text>}
        {member.tier && <s-badge>{t('balance.tier', {tier: member.tier})}</s-badge>}
        {fraction != null && (
          <s-stack gap="small-300">
            <s-progress value={fraction} max={1} accessibilityLabel={t('balance.progress_label')} />
            <s-text>{t('balance.next_tier', {tier: member.tier_progress.tier, missing: member.tier_progress.missing})}</s-text>
          </s-stack>
        )}
      </s-stack>
    </s-section>
  );
}

function Rewards({member, onRedeemed}) {
  const [busy, setBusy] = useState(null);
  const [message, setMessage] = useState(null);
  async function redeem(reward) {
    setBusy(reward.id);
    setMessage(null);
    try {
      const first = await tessera.post('/extensions/customer-account/redeem',
        {reward_id: reward.id, idempotency_key: newIdempotencyKey()});
      const done = await settledRedemption(tessera, first, (id) => `/extensions/customer-account/redemptions/${id}`);
      setMessage({tone: 'success', text: done.code ? t('rewards.redeemed_code', {code: done.code})
        : t('rewards.redeemed')});
      await onRedeemed();
    } catch (error) {
      setMessage({tone: 'critical', text: error.message || t('errors.unavailable')});
    } finally {
      setBusy(null);
    }
  }
  return (
    <s-section heading={t('rewards.heading')}>
      <s-stack gap="base">
        {message && <s-banner tone={message.tone}>{message.text}</s-banner>}
        {member.rewards.length === 0 && <s-text>{t('rewards.none')}</s-text>}
        {member.rewards.map((reward) => (
          <s-stack key={reward.id} direction="inline" gap="base" justifyContent="space-between" alignItems="center">
            <s-stack gap="small-300">
              <s-text type="strong">{reward.name}</s-text>
              <s-text color="subdued">{t('rewards.cost', {count: reward.points_cost})}</s-text>
            </s-stack>
            <s-button disabled={!reward.affordable || busy != null} loading={busy === reward.id}
              accessibilityLabel={t('rewards.redeem_label', {reward: reward.name})} onClick={() => redeem(reward)}>
              {reward.affordable ? t('rewards.redeem') : t('rewards.needs', {count: reward.points_needed})}
            </s-button>
          </s-stack>
        ))}
      </s-stack>
    </s-section>
  );
}

function Codes({codes}) {
  if (!codes.length) return null;
  return (
    <s-section heading={t('codes.heading')}>
      <s-stack gap="small-200">
        {codes.map((code, index) => (
          <s-stack key={code.code} direction="inline" gap="base" alignItems="center">
            <s-text type="strong">{code.code}</s-text>
            <s-text color="subdued">{code.reward}</s-text>
            <s-clipboard-item id={`code-${index}`} text={code.code} />
            <s-button command="--copy" commandFor={`code-${index}`} accessibilityLabel={t('codes.copy_label', {code: code.code})}>
              {t('codes.copy')}
            </s-button>
          </s-stack>
        ))}
      </s-stack>
    </s-section>
  );
}

function Referral({url}) {
  if (!url) return null;
  return (
    <s-section heading={t('referral.heading')}>
      <s-stack gap="small-200">
        <s-text>{t('referral.explain')}</s-text>
        <s-text type="strong">{url}</s-text>
        <s-clipboard-item id="referral-link" text={url} />
        <s-button command="--copy" commandFor="referral-link">{t('referral.copy')}</s-button>
      </s-stack>
    </s-section>
  );
}

function History({entries}) {
  return (
    <s-section heading={t('history.heading')}>
      {entries.length === 0 ? <s-text>{t('history.none')}</s-text> : (
        <s-unordered-list>
          {entries.map((entry) => (
            <s-list-item key={`${entry.at}-${entry.reason}`}>
              <s-text type="strong">{t('history.points', {count: entry.points})}</s-text>{' '}
              <s-text>{entry.reason}</s-text>{' '}
              <s-text color="subdued">{shopify.i18n.formatDate(new Date(entry.at))}</s-text>
            </s-list-item>
          ))}
        </s-unordered-list>
      )}
    </s-section>
  );
}
