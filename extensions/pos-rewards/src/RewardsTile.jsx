import '@shopify/ui-extensions/preact';
import {render} from 'preact';
import {useEffect, useState} from 'preact/hooks';

import {posTessera} from './pos-api.js';
import {tileSubheading} from './pos-rewards.js';
import {useCartCustomerId} from './use-cart-customer.js';

export default async () => {
  render(<RewardsTile />, document.body);
};

const tessera = posTessera();
const t = (key, params) => shopify.i18n.translate(key, params);

function RewardsTile() {
  const customerId = useCartCustomerId();
  const [member, setMember] = useState(null);
  useEffect(() => {
    setMember(null);
    if (!customerId) return;
    tessera.get(`/api/v1/members/${customerId}`).then(({data}) => setMember(data), () => setMember(null));
  }, [customerId]);
  const subheading = tileSubheading({customerId, member});
  return (
    <s-tile heading={t('tile.heading')} subheading={t(subheading.key, subheading.params)}
      onClick={() => shopify.action.presentModal()} />
  );
}
