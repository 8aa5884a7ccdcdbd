import {test} from 'node:test';
import assert from 'node:assert/strict';

import {memberRewardsOffer} from '../src/member-rewards.js';

const fiveOff = {id: 1, kind: 'amount_off', affordable: true, points_needed: 0, min_subtotal: null,
  combines_with: {order: false, product: false, shipping: true}};
const member = {blocked: false, balance: 600, rewards: [fiveOff]};
const canUpdate = {discounts: {canUpdateDiscountCodes: true}};
const cart = {subtotal: '135'};

test('a checkout that cannot take codes says so instead of offering rewards', () => {
  const offer = memberRewardsOffer({member, instructions: {discounts: {canUpdateDiscountCodes: false}}, cart,
    appliedCodes: []});
  assert.deepEqual(offer, {kind: 'codes_unavailable'});
});

test('a member with rewards sees each with what stops it, if anything', () => {
  const offer = memberRewardsOffer({member, instructions: canUpdate, cart, appliedCodes: []});
  assert.deepEqual(offer, {kind: 'rewards', rewards: [{reward: fiveOff, blocker: null}]});
});

test('a blocked member or one without rewards is offered nothing', () => {
  assert.equal(memberRewardsOffer({member: {...member, blocked: true}, instructions: canUpdate, cart}).kind,
    'nothing');
  assert.equal(memberRewardsOffer({member: {...member, rewards: []}, instructions: canUpdate, cart}).kind,
    'nothing');
});
