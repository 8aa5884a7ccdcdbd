import '@shopify/ui-extensions/preact';
import {render} from 'preact';
import {useEffect, useState} from 'preact/hooks';

import {adminTessera} from '../../common/admin-api.js';
import {lastEntries, numericId} from '../../common/points.js';

export default async () => {
  render(<CustomerPointsBlock />, document.body);
};

const tessera = adminTessera();
const t = (key, params) => shopify.i18n.translate(key, params);

function CustomerPointsBlock() {
  const customerId = numericId(shopify.data.selected[0]?.id);
  const [state, setState] = useState({loading: true});
  useEffect(() => {
    tessera.get(`/api/v1/members/${customerId}`).then(({data}) => setState({member: data}),
      (error) => setState({missing: error.status === 404, problem: error.message}));
  }, [customerId]);
  return (
    <s-admin-block heading={t('heading')}
      collapsedSummary={state.member ? t('summary', {points: state.member.balance}) : undefined}>
      <CustomerPoints state={state} />
    </s-admin-block>
  );
}

function CustomerPoints({state}) {
  if (state.loading) return <s-spinner accessibilityLabel={t('loading')} />;
  if (state.missing) return <s-text>{t('not_a_member')}</s-text>;
  if (!state.member) return <s-banner tone="critical">{state.problem || t('unavailable')}</s-banner>;
  const {member} = state;
  return (
    <s-stack gap="base">
      <s-stack direction="inline" gap="base" alignItems="center">
        <s-heading>{t('balance', {points: member.balance})}</s-heading>
        {member.tier && <s-badge>{member.tier}</s-badge>}
        {member.blocked && <s-badge tone="critical">{t('blocked')}</s-badge>}
      </s-stack>
      {member.pending > 0 && <s-text color="subdued">{t('pending', {points: member.pending})}</s-text>}
      <s-table>
        <s-table-header-row>
          <s-table-header>{t('entry.points')}</s-table-header>
          <s-table-header>{t('entry.reason')}</s-table-header>
          <s-table-header>{t('entry.date')}</s-table-header>
        </s-table-header-row>
        <s-table-body>
          {lastEntries(member.ledger).map((entry) => (
            <s-table-row key={entry.id}>
              <s-table-cell>{entry.points}</s-table-cell>
              <s-table-cell>{entry.reason}</s-table-cell>
              <s-table-cell>{shopify.i18n.formatDate(new Date(entry.at))}</s-table-cell>
            </s-table-row>
          ))}
        </s-table-body>
      </s-table>
      <s-text color="subdued">{t('adjust_hint')}</s-text>
    </s-stack>
  );
}
