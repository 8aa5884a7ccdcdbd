// The POS cart's customer id, kept current: staff add or swap the customer while the tile
// and the modal are open.
import {useEffect, useState} from 'preact/hooks';

import {cartCustomerId} from './pos-rewards.js';

export function useCartCustomerId() {
  const [customerId, setCustomerId] = useState(() => cartCustomerId(shopify.cart.current.value));
  useEffect(() => shopify.cart.current.subscribe((cart) => setCustomerId(cartCustomerId(cart))), []);
  return customerId;
}
