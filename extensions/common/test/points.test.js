import {test} from 'node:test';
import assert from 'node:assert/strict';

import {cartForEstimate, checkoutRewardBlocker, lastEntries, numericId, orderPointsMessage,
  tierProgressFraction} from '../points.js';

test('an order GID gives its number and anything else gives null', () => {
  assert.equal(numericId('gid://shopify/Order/5981273456789'), '5981273456789');
  assert.equal(numericId('gid://shopify/Order/abc'), null);
  assert.equal(numericId(undefined), null);
});

test('an order Tessera has not received yet is still processing', () => {
  assert.deepEqual(orderPointsMessage({known: false}), {key: 'order.processing', params: {}});
});

test('an order with pending points says until when', () => {
  const message = orderPointsMessage({known: true, earned: 54, taken_back: 0, pending: 54,
    pending_until: '2025-02-28T15:00:00+00:00'});
  assert.deepEqual(message, {key: 'order.earned_pending', params: {points: 54, date: '2025-02-28T15:00:00+00:00'}});
});

test('a refunded order says what was taken back', () => {
  const message = orderPointsMessage({known: true, earned: 110, taken_back: 44, pending: 0});
  assert.deepEqual(message, {key: 'order.earned_taken_back', params: {points: 110, taken_back: 44}});
});

test('an order that earned nothing says so', () => {
  assert.equal(orderPointsMessage({known: true, earned: 0, taken_back: 0, pending: 0}).key, 'order.no_points');
});

test('tier progress is the share of the next threshold reached', () => {
  assert.equal(tierProgressFraction({tier: 'Gold', threshold: '500', current: '125'}), 0.25);
  assert.equal(tierProgressFraction({tier: 'Gold', threshold: '500', current: '900'}), 1);
  assert.equal(tierProgressFraction(null), null);
});

const tenOff = {kind: 'amount_off', affordable: true, points_needed: 0, min_subtotal: '50',
  combines_with: {order: false, product: false, shipping: true}};

test('a reward below its minimum subtotal says how much is missing', () => {
  assert.deepEqual(checkoutRewardBlocker(tenOff, {subtotal: 35}),
    {key: 'checkout.below_minimum', params: {amount: 15}});
});

test('a reward that combines with nothing is blocked while another code is applied', () => {
  const lone = {...tenOff, min_subtotal: null, combines_with: {order: false, product: false, shipping: false}};
  assert.equal(checkoutRewardBlocker(lone, {subtotal: 80, appliedCodes: ['WELCOME']}).key, 'checkout.does_not_combine');
  assert.equal(checkoutRewardBlocker(lone, {subtotal: 80, appliedCodes: []}), null);
});

test('an unaffordable reward says how many points are missing', () => {
  assert.deepEqual(checkoutRewardBlocker({...tenOff, affordable: false, points_needed: 120}, {subtotal: 80}),
    {key: 'checkout.needs_points', params: {points: 120}});
});

test('the checkout cart becomes the estimate body with money as text', () => {
  const body = cartForEstimate({
    subtotal: {amount: 135, currencyCode: 'USD'}, shipping: {amount: 10, currencyCode: 'USD'}, tax: undefined,
    lines: [{merchandise: {product: {id: 'gid://shopify/Product/1'}}, cost: {totalAmount: {amount: 12.5}}}],
  });
  assert.deepEqual(body, {currency: 'USD', subtotal: '135', shipping: '10', tax: null,
    lines: [{product_id: 'gid://shopify/Product/1', amount: '12.5'}]});
});

test('the last entries come newest first', () => {
  assert.deepEqual(lastEntries([1, 2, 3, 4, 5, 6, 7], 3), [7, 6, 5]);
});

test('an adjustment needs whole non-zero points and a reason', async () => {
  const {adjustmentProblems} = await import('../points.js');
  assert.deepEqual(adjustmentProblems({points: '-50', reason: 'Wrong size'}), {});
  assert.deepEqual(adjustmentProblems({points: '2.5', reason: ' '}),
    {points: 'adjust.points_invalid', reason: 'adjust.reason_required'});
  assert.deepEqual(adjustmentProblems({points: '0', reason: 'x'}), {points: 'adjust.points_invalid'});
});
