"""Everything that speaks Shopify's protocols: signatures, OAuth, session tokens, Admin GraphQL."""
