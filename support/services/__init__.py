"""Every change of a support ticket (SPEC SUP-1…SUP-7, BIL-11, MB-2, ORG-9, SLA-5, TCU 13.1, TCU 18).

Each service checks who acts before anything is written, locks what it changes, writes the
evidence with the rule id that allowed it (EVD-1) and raises `RuleViolation` changing nothing
when a rule says no. Nothing is ever deleted (SUP-3): there is no delete service at all.

Decisions where the SPEC is silent:
- Status. A ticket a customer opens is `open` and waits for the provider from then on
  (`waiting_since`); a customer message sets `waiting_provider` (keeping `waiting_since` when it
  was already waiting), a staff reply `waiting_customer` (no longer waiting); an internal note
  changes nothing. A customer message on a *resolved* ticket reopens it (waiting_provider); a
  *closed* ticket refuses customer messages (its trace stays as it is; open a new ticket) — staff
  may still write to it, and reopen it with `ticket_set_status`.
- Invoice dispute (BIL-11): "within one month of its issue date" is up to and including the same
  day of the next month in Zurich (TIME-1, dateutil: issued 31 January → 28/29 February); the day
  after is refused. Only an invoice the member sees (ORG-6) may be named (404 otherwise); the
  ticket is about the invoice's Service unless another is given.
- SLA claim (SLA-5): about one Service (the penalty is computed per Service), start before end,
  the end not in the future; then the handlers registered in `support.hooks` decide (the SLA
  app: the two-month deadline, SLA-5).
- Money-back request (MB-2): `subscriptions.services.moneyback.service_money_back` runs in the same
  transaction as the ticket: a refusal propagates and no ticket exists; a refund creates the
  ticket resolved, with a system message (from staff, no author) stating the refund.
- A staff-opened ticket waits for the customer (the complaint asks for documents).

The modules: `opening` (ticket_open, one handler per kind in OPEN_BY_KIND, and ticket_open_by_staff),
`tickets` (messages, priority, status, abuse, suspension), `common` (what both share); the files'
checks are support.attachments'. Import the services from here.
"""

from support.services.opening import (
    CUSTOMER_KINDS,
    KIND_RULES,
    STAFF_ONLY_KINDS,
    invoice_dispute_last_day,
    ticket_open,
    ticket_open_by_staff,
)
from support.services.tickets import (
    message_post,
    ticket_flag_abusive,
    ticket_set_priority,
    ticket_set_status,
    ticket_suspend_service,
)

__all__ = [
    "CUSTOMER_KINDS",
    "KIND_RULES",
    "STAFF_ONLY_KINDS",
    "invoice_dispute_last_day",
    "message_post",
    "ticket_flag_abusive",
    "ticket_open",
    "ticket_open_by_staff",
    "ticket_set_priority",
    "ticket_set_status",
    "ticket_suspend_service",
]
