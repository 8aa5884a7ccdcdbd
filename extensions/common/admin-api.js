// Admin extensions call Tessera's /api/v1 with the staff member's ID token: Shopify resolves
// relative URLs against the app's application_url, and the token is the App Bridge session
// token /api/v1 already accepts.
import {createTesseraClient} from './tessera-api.js';

export function adminTessera() {
  return createTesseraClient({getToken: () => shopify.auth.idToken()});
}
