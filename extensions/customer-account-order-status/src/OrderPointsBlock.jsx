import '@shopify/ui-extensions/preact';
import {render} from 'preact';
import {useEffect, useState} from 'preact/hooks';

import {TESSERA_APP_URL} from '../../common/config.js';
import {numericId, orderPointsMessage} from '../../common/points.js';
import {createTesseraClient} from '../../common/tessera-api.js';

export default async () => {
  render(<OrderPointsBlock />, document.body);
};

const tessera = createTesseraClient({baseUrl: TESSERA_APP_URL, getToken: () => shopify.sessionToken.get()});
const t = (key, params) => shopify.i18n.translate(key, params);

function OrderPointsBlock() {
  const [summary, setSummary] = useState(null);
  const [failed, setFailed] = useState(false);
  const orderId = numericId(shopify.order.value?.id);
  useEffect(() => {
    if (!orderId) return;
    tessera.get(`/extensions/customer-account/orders/${orderId}`).then(({data}) => setSummary(data),
      () => setFailed(true));
  }, [orderId]);
  // Nothing to say on a failure or an order without points: the block stays out of the way.
  if (!orderId || failed || !summary) return null;
  const message = orderPointsMessage(summary);
  if (message.key === 'order.no_points') return null;
  const params = message.params.date
    ? {...message.params, date: shopify.i18n.formatDate(new Date(message.params.date))}
    : message.params;
  return (
    <s-banner heading={t('heading')} tone={summary.taken_back > 0 ? 'warning' : 'success'}>
      <s-text>{t(message.key, params)}</s-text>
    </s-banner>
  );
}
