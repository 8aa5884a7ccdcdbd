"""Every GraphQL document Tessera sends to the Admin API, in one place.

tests/shopify/test_documents.py validates each one against the real Admin schema of the
configured version (shipped in app/devstore/), refusing deprecated fields and arguments too:
a deprecated field is removed a few versions later, so using one only postpones the breakage.
Hence discounts select customers with `context`, customers are read through
`defaultEmailAddress`/`defaultPhoneNumber`, bulk operations through `bulkOperations`, and
webhook subscriptions name their destination with `uri`.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Document:
    name: str
    text: str
    # The mutation payload field whose `userErrors` must be empty (None for queries).
    root_field: str | None = None
    # A rough requested cost (mutations cost 10), used to wait for the rate-limit bucket.
    expected_cost: float = 10.0


CREATE_BASIC_DISCOUNT_CODE = Document("CreateRewardCode", """
mutation CreateRewardCode($basicCodeDiscount: DiscountCodeBasicInput!) {
  discountCodeBasicCreate(basicCodeDiscount: $basicCodeDiscount) {
    codeDiscountNode {
      id
      codeDiscount {
        ... on DiscountCodeBasic {
          title
          status
          endsAt
          usageLimit
          codes(first: 1) { nodes { id code } }
        }
      }
    }
    userErrors { field code message extraInfo }
  }
}
""", root_field="discountCodeBasicCreate")

CREATE_FREE_SHIPPING_DISCOUNT_CODE = Document("CreateFreeShippingRewardCode", """
mutation CreateFreeShippingRewardCode($freeShippingCodeDiscount: DiscountCodeFreeShippingInput!) {
  discountCodeFreeShippingCreate(freeShippingCodeDiscount: $freeShippingCodeDiscount) {
    codeDiscountNode {
      id
      codeDiscount {
        ... on DiscountCodeFreeShipping {
          title
          status
          endsAt
          usageLimit
          codes(first: 1) { nodes { id code } }
        }
      }
    }
    userErrors { field code message extraInfo }
  }
}
""", root_field="discountCodeFreeShippingCreate")

DISCOUNT_BY_CODE = Document("DiscountByCode", """
query DiscountByCode($code: String!) {
  codeDiscountNodeByCode(code: $code) {
    id
    codeDiscount {
      ... on DiscountCodeBasic { title status }
      ... on DiscountCodeFreeShipping { title status }
    }
  }
}
""", expected_cost=3)

DEACTIVATE_DISCOUNT_CODE = Document("DeactivateRewardCode", """
mutation DeactivateRewardCode($id: ID!) {
  discountCodeDeactivate(id: $id) {
    codeDiscountNode { id }
    userErrors { field code message extraInfo }
  }
}
""", root_field="discountCodeDeactivate")

CREDIT_STORE_CREDIT = Document("CreditStoreCredit", """
mutation CreditStoreCredit($id: ID!, $creditInput: StoreCreditAccountCreditInput!) {
  storeCreditAccountCredit(id: $id, creditInput: $creditInput) {
    storeCreditAccountTransaction {
      id
      amount { amount currencyCode }
      account { id balance { amount currencyCode } }
    }
    userErrors { field code message }
  }
}
""", root_field="storeCreditAccountCredit")

# Store credit has no idempotency key, so after a lost answer Tessera reads the customer's
# recent credits to learn whether its credit went through (app/services/redemptions.py).
STORE_CREDIT_CREDITS = Document("StoreCreditCredits", """
query StoreCreditCredits($customerId: ID!, $accountQuery: String!) {
  customer(id: $customerId) {
    storeCreditAccounts(first: 1, query: $accountQuery) {
      nodes {
        id
        transactions(first: 50, reverse: true, query: "type:credit") {
          nodes {
            __typename
            ... on StoreCreditAccountCreditTransaction { id createdAt expiresAt amount { amount currencyCode } }
          }
        }
      }
    }
  }
}
""", expected_cost=55)

# A free product's reward is worth the variant's price at the moment of redeeming.
REWARD_VARIANT_PRICE = Document("RewardVariantPrice", """
query RewardVariantPrice($id: ID!) {
  productVariant(id: $id) { id price }
}
""", expected_cost=1)
# A POS order's store location, for "in store at <name>" in the member's history (read_locations).
LOCATION_NAME = Document("LocationName", """
query LocationName($id: ID!) {
  location(id: $id) { id name }
}
""", expected_cost=1)


def subscription_topic(topic: str) -> str:
    """`orders/paid` -> `ORDERS_PAID` (the WebhookSubscriptionTopic enum value)."""
    return topic.upper().replace("/", "_")


SUBSCRIBE_WEBHOOK = Document("SubscribeWebhook", """
mutation SubscribeWebhook($topic: WebhookSubscriptionTopic!, $webhookSubscription: WebhookSubscriptionInput!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $webhookSubscription) {
    webhookSubscription { id topic }
    userErrors { field message }
  }
}
""", root_field="webhookSubscriptionCreate")

LIST_WEBHOOK_SUBSCRIPTIONS = Document("ListWebhookSubscriptions", """
query ListWebhookSubscriptions($after: String) {
  webhookSubscriptions(first: 50, after: $after) {
    nodes {
      id
      topic
      uri
    }
    pageInfo { hasNextPage endCursor }
  }
}
""", expected_cost=102)

SHOP_INFO = Document("ShopInfo", """
query ShopInfo {
  shop {
    id
    name
    email
    myshopifyDomain
    currencyCode
    ianaTimezone
    currencyFormats { moneyFormat }
  }
}
""", expected_cost=2)

# The order's own fields, as the paged queries and the bulk export both read them
# (reconcile.order_payload_from_graphql turns either into the webhook's shape).
# The order's customer: without protected customer data approval Shopify withholds the profile
# fields, so the import can ask again with the id only (bulk_orders_query(customer_profile=False)).
_CUSTOMER_PROFILE = "customer { legacyResourceId defaultEmailAddress { emailAddress } firstName lastName }"
_CUSTOMER_ID_ONLY = "customer { legacyResourceId }"

_ORDER_SCALARS = """
      id
      legacyResourceId
      name
      test
      processedAt
      updatedAt
      cancelledAt
      displayFinancialStatus
      displayFulfillmentStatus
      currencyCode
      customerAcceptsMarketing
      discountCodes
      customAttributes { key value }
      """ + _CUSTOMER_PROFILE + """
      subtotalPriceSet { shopMoney { amount currencyCode } }
      totalPriceSet { shopMoney { amount currencyCode } }
      totalTaxSet { shopMoney { amount currencyCode } }
      taxesIncluded
"""


# Reconciliation and import page through orders. A query's requested cost must stay under
# 1000: 5 orders x (10 line items with their tax lines + a few refunds' ids) stays below;
# refunds' details and further line items are fetched per order only when there are any.
_ORDER_FIELDS = _ORDER_SCALARS + """
      shippingLines(first: 5) {
        nodes { discountedPriceSet { shopMoney { amount } } taxLines { priceSet { shopMoney { amount } } } }
      }
      lineItems(first: 10) {
        nodes {
          id
          quantity
          currentQuantity
          taxLines { priceSet { shopMoney { amount } } }
          isGiftCard
          product { legacyResourceId }
          originalUnitPriceSet { shopMoney { amount } }
          discountAllocations { allocatedAmountSet { shopMoney { amount } } }
        }
        pageInfo { hasNextPage endCursor }
      }
      refunds(first: 10) { legacyResourceId }
"""

ORDERS_UPDATED_SINCE = Document("OrdersUpdatedSince", """
query OrdersUpdatedSince($query: String!, $after: String) {
  orders(first: 5, after: $after, query: $query, sortKey: UPDATED_AT) {
    nodes {""" + _ORDER_FIELDS + """    }
    pageInfo { hasNextPage endCursor }
  }
}
""", expected_cost=700)

ORDER_LINE_ITEMS = Document("OrderLineItems", """
query OrderLineItems($id: ID!, $after: String) {
  order(id: $id) {
    lineItems(first: 50, after: $after) {
      nodes {
        id
        quantity
        currentQuantity
        taxLines { priceSet { shopMoney { amount } } }
        isGiftCard
        product { legacyResourceId }
        originalUnitPriceSet { shopMoney { amount } }
        discountAllocations { allocatedAmountSet { shopMoney { amount } } }
      }
      pageInfo { hasNextPage endCursor }
    }
  }
}
""", expected_cost=500)

ORDER_REFUNDS = Document("OrderRefunds", """
query OrderRefunds($id: ID!) {
  order(id: $id) {
    refunds(first: 10) {
      legacyResourceId
      createdAt
      totalRefundedSet { shopMoney { amount } }
      duties { amountSet { shopMoney { amount } } }
      refundLineItems(first: 20) {
        nodes {
          quantity
          lineItem { id isGiftCard }
          subtotalSet { shopMoney { amount currencyCode } }
          totalTaxSet { shopMoney { amount } }
        }
      }
      refundShippingLines(first: 3) {
        nodes { subtotalAmountSet { shopMoney { amount } } taxAmountSet { shopMoney { amount } } }
      }
    }
  }
}
""", expected_cost=150)

COLLECTION_PRODUCTS = Document("CollectionProducts", """
query CollectionProducts($id: ID!, $after: String) {
  collection(id: $id) {
    products(first: 250, after: $after) {
      nodes { legacyResourceId }
      pageInfo { hasNextPage endCursor }
    }
  }
}
""", expected_cost=252)

# The customer fields both the customers import and the widget's first sight read (one list,
# so imports.customer_payload and signup read the same shape).
_CUSTOMER_FIELDS = """
      legacyResourceId
      firstName
      lastName
      state
      createdAt
      locale
      defaultEmailAddress { emailAddress marketingState }
      defaultPhoneNumber { phoneNumber }
      tags
"""

CUSTOMERS_PAGE = Document("CustomersPage", """
query CustomersPage($after: String) {
  customers(first: 100, after: $after) {
    nodes {""" + _CUSTOMER_FIELDS + """    }
    pageInfo { hasNextPage endCursor }
  }
}
""", expected_cost=202)


# One signed-in customer Tessera has not met yet (new customer accounts send no "enabled" state,
# so the widget's first load is where they join).
SIGNED_IN_CUSTOMER = Document("SignedInCustomer", """
query SignedInCustomer($id: ID!) {
  customer(id: $id) {""" + _CUSTOMER_FIELDS + """  }
}
""", expected_cost=1)


# The historical import pages through every order by id (immutable, so a saved cursor stays
# valid across interruptions); 5 per page for the same cost reason as reconciliation.
HISTORICAL_ORDERS = Document("HistoricalOrders", """
query HistoricalOrders($after: String) {
  orders(first: 5, after: $after, sortKey: ID) {
    nodes {""" + _ORDER_FIELDS + """    }
    pageInfo { hasNextPage endCursor }
  }
}
""", expected_cost=700)

# Counts for the import's progress bar (Shopify stops counting at 10,000: precision AT_LEAST).
CUSTOMERS_COUNT = Document("CustomersCount", """
query CustomersCount {
  customersCount { count precision }
}
""", expected_cost=1)

ORDERS_COUNT = Document("OrdersCount", """
query OrdersCount {
  ordersCount { count precision }
}
""", expected_cost=1)


# ---- historical orders through a bulk operation ---------------------------------------------
# Shopify runs the query in the background and writes a JSONL file: one line per order, and one
# line per node of its nested connections with `__parentId` (the order's id). Bulk rules: one
# top-level connection, at most 5 connections nested at most 2 deep, no `first`/`after`, no
# variables (the search filter is written into the text), and no connection inside a list field:
# Shopify refuses the query ("Queries that contain a connection field within a list field are not
# currently supported."). `refunds` is a list, so the export names each refund (id, date) and the
# refunds' line items and shipping lines are read afterwards with REFUND_DETAILS, a page of
# refunds at a time. Lists that are not connections (customAttributes, discountAllocations) stay
# inside their parent's line. Since 2026-01 the lines are not grouped by parent unless asked;
# Tessera does not ask (grouping makes Shopify's export slower) and reads them in any order.
BULK_ORDERS_QUERY = """
{
  orders(query: "%(search)s") {
    edges {
      node {""" + _ORDER_SCALARS + """
        shippingLines {
          edges {
            node { id discountedPriceSet { shopMoney { amount } } taxLines { priceSet { shopMoney { amount } } } }
          }
        }
        lineItems {
          edges {
            node {
              id
              quantity
              currentQuantity
              taxLines { priceSet { shopMoney { amount } } }
              isGiftCard
              product { legacyResourceId }
              originalUnitPriceSet { shopMoney { amount } }
              discountAllocations { allocatedAmountSet { shopMoney { amount } } }
            }
          }
        }
        refunds {
          id
          legacyResourceId
          createdAt
          totalRefundedSet { shopMoney { amount } }
          duties { amountSet { shopMoney { amount } } }
        }
      }
    }
  }
}
"""


def bulk_orders_query(processed_since: str, *, customer_profile: bool = True) -> str:
    """The bulk query for orders processed since a date (YYYY-MM-DD, validated by the caller).
    Without `customer_profile` the customer is named by id only, for a shop whose protected
    customer fields Shopify withholds (a bulk operation fails as a whole with ACCESS_DENIED)."""
    query = BULK_ORDERS_QUERY % {"search": f"processed_at:>={processed_since}"}
    return query if customer_profile else query.replace(_CUSTOMER_PROFILE, _CUSTOMER_ID_ONLY)


# The details of the refunds a bulk export named, REFUNDS_PER_PAGE at a time. Requested cost per
# refund: 1 + refundLineItems (2 + 10 x 6) + refundShippingLines (2 + 3 x 5) = 80, so 12 refunds
# (960) stay under Shopify's 1000 per query; what the answer does not use is given back. A refund
# with more than 10 lines (rare) has the rest read with REFUND_LINE_ITEMS.
REFUNDS_PER_PAGE = 12
_REFUND_LINE_ITEM = """
          quantity
          lineItem { id isGiftCard }
          subtotalSet { shopMoney { amount currencyCode } }
          totalTaxSet { shopMoney { amount } }
"""
REFUND_DETAILS = Document("RefundDetails", """
query RefundDetails($ids: [ID!]!) {
  nodes(ids: $ids) {
    ... on Refund {
      id
      refundLineItems(first: 10) {
        nodes {""" + _REFUND_LINE_ITEM + """        }
        pageInfo { hasNextPage endCursor }
      }
      refundShippingLines(first: 3) {
        nodes { subtotalAmountSet { shopMoney { amount } } taxAmountSet { shopMoney { amount } } }
        pageInfo { hasNextPage }
      }
    }
  }
}
""", expected_cost=960)

REFUND_LINE_ITEMS = Document("RefundLineItems", """
query RefundLineItems($id: ID!, $after: String) {
  node(id: $id) {
    ... on Refund {
      refundLineItems(first: 100, after: $after) {
        nodes {""" + _REFUND_LINE_ITEM + """        }
        pageInfo { hasNextPage endCursor }
      }
    }
  }
}
""", expected_cost=603)


RUN_BULK_QUERY = Document("RunBulkQuery", """
mutation RunBulkQuery($query: String!) {
  bulkOperationRunQuery(query: $query) {
    bulkOperation { id status createdAt }
    userErrors { field code message }
  }
}
""", root_field="bulkOperationRunQuery")

_BULK_OPERATION_FIELDS = """
      id
      status
      errorCode
      createdAt
      completedAt
      objectCount
      rootObjectCount
      fileSize
      url
      partialDataUrl
      query
"""

# Polled by id: the newest bulk query of the app may be another run's.
BULK_OPERATION = Document("BulkOperationById", """
query BulkOperationById($id: ID!) {
  node(id: $id) {
    ... on BulkOperation {""" + _BULK_OPERATION_FIELDS + """    }
  }
}
""", expected_cost=2)

# Used when starting one is refused with OPERATION_IN_PROGRESS: it may be our own, started by a
# run that stopped before it could save the operation's id. The app's newest bulk query
# (`bulkOperations` lists newest first), which replaces the deprecated `currentBulkOperation`.
LATEST_BULK_QUERY = Document("LatestBulkQuery", """
query LatestBulkQuery {
  bulkOperations(first: 1, sortKey: CREATED_AT, query: "operation_type:query") {
    nodes {""" + _BULK_OPERATION_FIELDS + """    }
  }
}
""", expected_cost=3)


ALL_DOCUMENTS: list[Document] = [
    CREATE_BASIC_DISCOUNT_CODE, CREATE_FREE_SHIPPING_DISCOUNT_CODE, DISCOUNT_BY_CODE, DEACTIVATE_DISCOUNT_CODE,
    CREDIT_STORE_CREDIT, STORE_CREDIT_CREDITS, REWARD_VARIANT_PRICE, SUBSCRIBE_WEBHOOK, LIST_WEBHOOK_SUBSCRIPTIONS, SHOP_INFO, ORDERS_UPDATED_SINCE,
    ORDER_LINE_ITEMS, ORDER_REFUNDS, COLLECTION_PRODUCTS, CUSTOMERS_PAGE, HISTORICAL_ORDERS, CUSTOMERS_COUNT,
    ORDERS_COUNT, RUN_BULK_QUERY, BULK_OPERATION, LATEST_BULK_QUERY, SIGNED_IN_CUSTOMER, REFUND_DETAILS, REFUND_LINE_ITEMS,
    LOCATION_NAME,
]


# ---- billing of the hosted app (BILLING=on) ------------------------------------------------------
_APP_SUBSCRIPTION_FIELDS = "id name status test currentPeriodEnd"

CREATE_APP_SUBSCRIPTION = Document("CreateAppSubscription", """
mutation CreateAppSubscription($name: String!, $lineItems: [AppSubscriptionLineItemInput!]!, $returnUrl: URL!,
                               $test: Boolean, $replacementBehavior: AppSubscriptionReplacementBehavior) {
  appSubscriptionCreate(name: $name, lineItems: $lineItems, returnUrl: $returnUrl, test: $test,
                        replacementBehavior: $replacementBehavior) {
    appSubscription { %s }
    confirmationUrl
    userErrors { field message }
  }
}
""" % _APP_SUBSCRIPTION_FIELDS, root_field="appSubscriptionCreate")

APP_SUBSCRIPTION = Document("AppSubscriptionById", """
query AppSubscriptionById($id: ID!) {
  node(id: $id) { ... on AppSubscription { %s } }
}
""" % _APP_SUBSCRIPTION_FIELDS, expected_cost=1)

CANCEL_APP_SUBSCRIPTION = Document("CancelAppSubscription", """
mutation CancelAppSubscription($id: ID!) {
  appSubscriptionCancel(id: $id) {
    appSubscription { %s }
    userErrors { field message }
  }
}
""" % _APP_SUBSCRIPTION_FIELDS, root_field="appSubscriptionCancel")

ALL_DOCUMENTS += [CREATE_APP_SUBSCRIPTION, APP_SUBSCRIPTION, CANCEL_APP_SUBSCRIPTION]
# ---- customer metafields and Shopify Flow (services.customer_metafields, services.flow) ------

CREATE_METAFIELD_DEFINITION = Document("CreateLoyaltyMetafieldDefinition", """
mutation CreateLoyaltyMetafieldDefinition($definition: MetafieldDefinitionInput!) {
  metafieldDefinitionCreate(definition: $definition) {
    createdDefinition { id namespace key type { name } }
    userErrors { field message code }
  }
}
""", root_field="metafieldDefinitionCreate")
SET_METAFIELDS = Document("SetLoyaltyMetafields", """
mutation SetLoyaltyMetafields($metafields: [MetafieldsSetInput!]!) {
  metafieldsSet(metafields: $metafields) {
    metafields { key namespace value updatedAt }
    userErrors { field message code elementIndex }
  }
}
""", root_field="metafieldsSet")
RECEIVE_FLOW_TRIGGER = Document("SendFlowTrigger", """
mutation SendFlowTrigger($handle: String!, $payload: JSON!) {
  flowTriggerReceive(handle: $handle, payload: $payload) {
    userErrors { field message }
  }
}
""", root_field="flowTriggerReceive")
ALL_DOCUMENTS += [CREATE_METAFIELD_DEFINITION, SET_METAFIELDS, RECEIVE_FLOW_TRIGGER]
# ---- cashback (app/services/cashback.py) -------------------------------------------------------
# Store credit is never taken below zero: the balance is read first and at most it is debited.
# Like credits, debits carry no idempotency key, so a lost answer is settled by reading the
# account's recent debits back.
DEBIT_STORE_CREDIT = Document("DebitStoreCredit", """
mutation DebitStoreCredit($id: ID!, $debitInput: StoreCreditAccountDebitInput!) {
  storeCreditAccountDebit(id: $id, debitInput: $debitInput) {
    storeCreditAccountTransaction {
      id
      amount { amount currencyCode }
      balanceAfterTransaction { amount currencyCode }
    }
    userErrors { field code message }
  }
}
""", root_field="storeCreditAccountDebit")
STORE_CREDIT_DEBITS = Document("StoreCreditDebits", """
query StoreCreditDebits($customerId: ID!, $accountQuery: String!) {
  customer(id: $customerId) {
    storeCreditAccounts(first: 1, query: $accountQuery) {
      nodes {
        id
        balance { amount currencyCode }
        transactions(first: 50, reverse: true, query: "type:debit") {
          nodes {
            __typename
            ... on StoreCreditAccountDebitTransaction { id createdAt amount { amount currencyCode } }
          }
        }
      }
    }
  }
}
""", expected_cost=55)
ALL_DOCUMENTS += [DEBIT_STORE_CREDIT, STORE_CREDIT_DEBITS]
# "Sync to Shopify": a segment's members carry a customer tag the store's other tools can use
# (one customer per call: tagsAdd and tagsRemove take one resource id).
TAG_CUSTOMER = Document("TagCustomer", """
mutation TagCustomer($id: ID!, $tags: [String!]!) {
  tagsAdd(id: $id, tags: $tags) {
    node { id }
    userErrors { field message }
  }
}
""", root_field="tagsAdd")
UNTAG_CUSTOMER = Document("UntagCustomer", """
mutation UntagCustomer($id: ID!, $tags: [String!]!) {
  tagsRemove(id: $id, tags: $tags) {
    node { id }
    userErrors { field message }
  }
}
""", root_field="tagsRemove")

ALL_DOCUMENTS += [TAG_CUSTOMER, UNTAG_CUSTOMER]
