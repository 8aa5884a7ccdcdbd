import {test} from 'node:test';
import assert from 'node:assert/strict';

import {createTesseraClient, newIdempotencyKey, settledRedemption, TesseraError} from '../tessera-api.js';

function fakeFetch(replies) {
  const calls = [];
  const impl = async (url, init) => {
    calls.push({url, ...init});
    const [status, body] = replies.shift();
    return {ok: status < 400, status, json: async () => body};
  };
  return {impl, calls};
}

test('every call carries a fresh bearer token and JSON', async () => {
  const {impl, calls} = fakeFetch([[200, {balance: 5}]]);
  let tokens = 0;
  const client = createTesseraClient({baseUrl: 'https://t.example', getToken: async () => `tok${++tokens}`,
    fetchImpl: impl});
  const answer = await client.post('/extensions/checkout/estimate', {currency: 'USD'});
  assert.deepEqual(answer, {status: 200, data: {balance: 5}});
  assert.equal(calls[0].url, 'https://t.example/extensions/checkout/estimate');
  assert.equal(calls[0].headers.Authorization, 'Bearer tok1');
  assert.equal(calls[0].body, '{"currency":"USD"}');
});

test("Tessera's error answer becomes an error with its code and message", async () => {
  const {impl} = fakeFetch([[422, {error: {code: 'below_minimum', message: 'add $15.00 more'}}]]);
  const client = createTesseraClient({fetchImpl: impl});
  await assert.rejects(client.get('/x'), (error) => error instanceof TesseraError && error.status === 422 &&
    error.code === 'below_minimum' && error.message === 'add $15.00 more');
});

test('a network failure is an error with status 0', async () => {
  const client = createTesseraClient({fetchImpl: async () => { throw new Error('offline'); }});
  await assert.rejects(client.get('/x'), (error) => error.status === 0 && error.code === 'network');
});

test('a pending redemption is polled until it has its code', async () => {
  const {impl, calls} = fakeFetch([[200, {status: 'pending'}], [200, {status: 'issued', code: 'ABC'}]]);
  const client = createTesseraClient({fetchImpl: impl});
  const done = await settledRedemption(client, {status: 202, data: {status: 'pending', redemption_id: 7}},
    (id) => `/redemptions/${id}`, {wait: async () => {}});
  assert.deepEqual(done, {status: 'issued', code: 'ABC'});
  assert.deepEqual(calls.map((c) => c.url), ['/redemptions/7', '/redemptions/7']);
});

test('idempotency keys differ per click and fit Tessera\'s 8-128 characters', () => {
  const first = newIdempotencyKey();
  const second = newIdempotencyKey();
  assert.notEqual(first, second);
  assert.ok(first.length >= 8 && first.length <= 128);
});
