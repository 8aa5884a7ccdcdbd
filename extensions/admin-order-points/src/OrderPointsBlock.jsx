import '@shopify/ui-extensions/preact';
import {render} from 'preact';
import {useEffect, useState} from 'preact/hooks';

import {adminTessera} from '../../common/admin-api.js';
import {numericId} from '../../common/points.js';

export default async () => {
  render(<OrderPointsBlock />, document.body);
};

const tessera = adminTessera();
const t = (key, params) => shopify.i18n.translate(key, params);

function OrderPointsBlock() {
  const orderId = numericId(shopify.data.selected[0]?.id);
  const [state, setState] = useState({loading: true});
  useEffect(() => {
    tessera.get(`/api/v1/orders/${orderId}/points`).then(({data}) => setState({order: data}),
      (error) => setState({problem: error.message || t('unavailable')}));
  }, [orderId]);
  return (
    <s-admin-block heading={t('heading')}
      collapsedSummary={state.order ? t('summary', {points: state.order.net}) : undefined}>
      {state.loading && <s-spinner accessibilityLabel={t('loading')} />}
      {state.problem && <s-text color="subdued">{state.problem}</s-text>}
      {state.order && <OrderPoints order={state.order} />}
    </s-admin-block>
  );
}

function OrderPoints({order}) {
  if (order.customer_id == null) return <s-text>{t('guest_order')}</s-text>;
  return (
    <s-stack gap="small-200">
      <s-text>{t('earned', {points: order.earned})}</s-text>
      {order.taken_back > 0 && <s-text>{t('taken_back', {points: order.taken_back})}</s-text>}
      {order.pending > 0 && order.pending_until && (
        <s-text color="subdued">{t('pending', {points: order.pending,
          date: shopify.i18n.formatDate(new Date(order.pending_until))})}</s-text>
      )}
      <s-unordered-list>
        {order.entries.map((entry) => (
          <s-list-item key={`${entry.at}-${entry.kind}-${entry.points}`}>{entry.points} · {entry.reason}</s-list-item>
        ))}
      </s-unordered-list>
    </s-stack>
  );
}
