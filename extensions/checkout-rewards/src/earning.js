// What both checkout targets share: the cart as Shopify's checkout API shows it, sent to
// Tessera's estimate.
import {cartForEstimate} from '../../common/points.js';

export function currentCart() {
  return cartForEstimate({
    lines: shopify.lines.value,
    subtotal: shopify.cost.subtotalAmount.value,
    shipping: shopify.cost.totalShippingAmount.value,
    tax: shopify.cost.totalTaxAmount.value,
  });
}
