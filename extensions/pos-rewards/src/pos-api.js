// POS calls Tessera's /api/v1 with the POS session token: a Shopify ID token (HS256 with the app
// secret, dest = the shop, sub = the signed-in staff user), the one the admin API already
// verifies. Relative URLs resolve against the app's application_url, as in the admin.
import {TesseraError, createTesseraClient} from '../../common/tessera-api.js';

export function posTessera() {
  return createTesseraClient({getToken: posSessionToken});
}

// Shopify returns no token when the signed-in user may not use the app (POS app permissions).
async function posSessionToken() {
  const token = await shopify.session.getSessionToken();
  if (!token) throw new TesseraError(401, 'no_app_permission', '');
  return token;
}
