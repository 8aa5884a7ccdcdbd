// Where Tessera runs, for the extensions that call it from Shopify's origin (customer
// accounts, checkout). Keep it equal to `application_url` in shopify.app.toml: a test checks it.
// Admin extensions need no address: Shopify resolves their relative URLs against application_url.
export const TESSERA_APP_URL = 'https://tessera.example.com';
