"""The loyalty program as plain Python: the rules, none of the plumbing.

Nothing here imports Flask, SQLAlchemy or app.models, opens a session or calls Shopify
(tests/test_architecture.py checks it). Services in app/services load the facts, call these
rules, write what they decide and commit; the rules themselves are tested without a database.

The vocabulary
- Member: a shop's customer taking part in the program (one per Shopify customer id and shop).
- Ledger entry: one signed change of a member's points, with its kind (ledger.EntryKind: earn,
  redeem, reversal, clawback, expire, adjust, import), its cause and a sentence explaining it.
- Earning rule: points per unit of money spent on an order (earning.py, orders.py), plus
  campaigns, first-order and streak bonuses and actions such as signup or birthday (actions.py).
- Reward / redemption: a catalog item bought with points (rewards.py) and one member's purchase
  of it, which Shopify turns into a discount code or store credit.
- Tier: a VIP level qualified for by activity over a period, kept until the period ends
  (tiers.py); its multiplier and benefits apply to later earning.
- Referral: a member's link that brings a friend (who gets a discount code); the referrer earns
  on the friend's first paid order above the minimum, unless a fraud rule blocks it, and loses
  it again if that order is cancelled or refunded in full (referrals.py).
- Expiry: points lapse after inactivity or N months after earning, oldest lots first (expiry.py).
- Clawback: refunded or cancelled orders take back what they earned, in proportion to the money
  returned (clawback.py, settlement.py).
- Program: the shop's settings for all of the above, stored as immutable versions (program.py).
- Member event: what the store's other tools hear about a member (points earned/spent/expired/
  adjusted, reward redeemed, tier changed, referral completed, enrolled; events.py), recorded in
  the transaction of the change and handed to emails, webhooks, Flow, Klaviyo and metafields after.

The invariants
- The ledger is append-only. A mistake is undone by a reversing entry that points at the entry
  it corrects, never by editing or deleting history.
- Every entry carries an idempotency key built from its cause (ledger.py: `order:{id}:earn`,
  `refund:{id}:clawback`, `redemption:{id}:debit` ...), unique per shop, so a cause delivered
  twice (webhook retries, a bulk import after webhooks) counts once.
- Balances are derived: a member's points are the sum of their entries, never a stored total
  that could drift from them.
- Numbers are exact: points are integers, money is integer minor units of a currency (money.py)
  or Decimal/Fraction while computing; rounding happens once, at the end, as the owner chose.
- Time is UTC and timezone-aware; a rule that depends on "now" takes it as an argument.
- Redemption is two-phase around Shopify: points are held, the code is created, then the hold is
  posted or voided, so a failure in between neither loses points nor gives a code away.
"""
