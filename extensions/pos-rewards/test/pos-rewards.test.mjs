import {test} from 'node:test';
import assert from 'node:assert/strict';

import {cartCustomerId, posMemberView, redemptionPath, rewardBlocker, tileSubheading} from '../src/pos-rewards.js';

const fiveOff = {id: 1, kind: 'amount_off', affordable: true, points_needed: 0, points_cost: 500};
const freeShipping = {id: 2, kind: 'free_shipping', affordable: false, points_needed: 150, points_cost: 800};
const credit = {id: 3, kind: 'store_credit', affordable: true, points_needed: 0, points_cost: 1000};
const member = {balance: 650, pending: 40, tier: 'Gold', blocked: false, rewards: [fiveOff, freeShipping, credit]};

test('the cart customer is read from the POS cart as a numeric id, or none for a guest cart', () => {
  assert.equal(cartCustomerId({customer: {id: 7001}}), '7001');
  assert.equal(cartCustomerId({customer: undefined}), null);
  assert.equal(cartCustomerId({customer: {id: 0}}), null);
  assert.equal(cartCustomerId(undefined), null);
});

test('a cart without a customer says so instead of looking anyone up', () => {
  assert.deepEqual(posMemberView({customerId: null, member}), {kind: 'no_customer'});
  assert.equal(tileSubheading({customerId: null}).key, 'tile.no_customer');
});

test('a customer who is not a member is told apart from a Tessera outage', () => {
  assert.deepEqual(posMemberView({customerId: '7001', missing: true}), {kind: 'not_a_member'});
  assert.deepEqual(posMemberView({customerId: '7001'}), {kind: 'loading'});
});

test('each reward says what stops it: missing points, or store credit that cannot go on the cart', () => {
  const view = posMemberView({customerId: '7001', member});
  assert.equal(view.kind, 'rewards');
  assert.deepEqual(view.rewards.map((row) => row.blocker), [
    null, {key: 'modal.needs_points', params: {points: 150}}, {key: 'modal.not_a_code', params: {}}]);
  assert.deepEqual(rewardBlocker(fiveOff), null);
});

test('a member who cannot afford any reward is told there are not enough points', () => {
  const poor = {...member, rewards: [freeShipping]};
  assert.equal(posMemberView({customerId: '7001', member: poor}).kind, 'nothing_affordable');
});

test('a blocked member is offered nothing to redeem', () => {
  assert.equal(posMemberView({customerId: '7001', member: {...member, blocked: true}}).kind, 'blocked');
});

test('the tile shows the member balance once known', () => {
  assert.deepEqual(tileSubheading({customerId: '7001', member}), {key: 'tile.balance', params: {points: 650}});
  assert.equal(tileSubheading({customerId: '7001', member: null}).key, 'tile.open');
});

test('staff redemptions go to the member redemptions route of /api/v1', () => {
  assert.equal(redemptionPath('7001'), '/api/v1/members/7001/redemptions');
});
