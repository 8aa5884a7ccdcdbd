import '@shopify/ui-extensions/preact';
import {render} from 'preact';
import {useEffect, useState} from 'preact/hooks';

import {TESSERA_APP_URL} from '../../common/config.js';
import {createTesseraClient} from '../../common/tessera-api.js';
import {currentCart} from './earning.js';

export default async () => {
  render(<ThankYouPoints />, document.body);
};

const tessera = createTesseraClient({baseUrl: TESSERA_APP_URL, getToken: () => shopify.sessionToken.get()});
const t = (key, params) => shopify.i18n.translate(key, params);

// The order webhook has usually not reached Tessera yet here: the points are the estimate the
// earning rules give for what was just bought, and they land once Shopify reports the payment.
function ThankYouPoints() {
  const [estimate, setEstimate] = useState(null);
  useEffect(() => {
    tessera.post('/extensions/checkout/estimate', currentCart()).then(({data}) => setEstimate(data), () => {});
  }, []);
  if (!estimate || !(estimate.points > 0)) return null;
  return (
    <s-banner heading={t('heading')} tone="success">
      <s-text>{t('thank_you', {points: estimate.points})}</s-text>
    </s-banner>
  );
}
