// Calls to Tessera from a UI extension: a fresh session token on every call (Shopify caches
// it and renews it before its 5 minutes run out), JSON both ways, and Tessera's error shape
// `{"error": {"code", "message"}}` turned into an Error the screen can show as is.

export class TesseraError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function createTesseraClient({baseUrl = '', getToken, fetchImpl = fetch}) {
  async function request(method, path, body) {
    const headers = {Accept: 'application/json'};
    if (getToken) headers.Authorization = `Bearer ${await getToken()}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let response;
    try {
      response = await fetchImpl(`${baseUrl}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (cause) {
      throw new TesseraError(0, 'network', 'network');
    }
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const error = data.error || {};
      throw new TesseraError(response.status, error.code || 'error', error.message || '');
    }
    return {status: response.status, data};
  }
  return {
    get: (path) => request('GET', path),
    post: (path, body) => request('POST', path, body),
  };
}

// A pending redemption (Shopify was slow) is polled until it settles or the tries run out.
export async function settledRedemption(client, first, pollPath, {tries = 10, wait = defaultWait} = {}) {
  const redemptionId = first.data.redemption_id;
  let answer = first;
  for (let attempt = 0; answer.status === 202 && attempt < tries; attempt += 1) {
    await wait(attempt);
    const polled = await client.get(pollPath(redemptionId));
    answer = polled.data.status === 'pending' ? {status: 202, data: polled.data} : polled;
  }
  return answer.data;
}

function defaultWait(attempt) {
  return new Promise((resolve) => setTimeout(resolve, Math.min(4000, 500 * 2 ** attempt)));
}

// One key per click: a retried request (flaky network) redeems once.
export function newIdempotencyKey(random = Math.random, now = Date.now) {
  return `ext-${now().toString(36)}-${random().toString(36).slice(2, 12)}`;
}
