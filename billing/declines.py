"""What a customer reads when a card is not charged. The gateway's codes ("card_declined",
"insufficient_funds", …) are evidence for staff and the API's `rule` field, never customer text:
each becomes a plain sentence here."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from billing.gateway import (
    AUTHENTICATION_REQUIRED,
    DECLINE_AUTHENTICATION_REQUIRED,
    DECLINE_CARD_DECLINED,
    DECLINE_INSUFFICIENT_FUNDS,
)

# Why a payment a stopped request left PROCESSING failed: the gateway never received its charge.
NEVER_RECEIVED = "never_received"

# The codes customers can meet (Stripe's decline codes included), as untranslated sentences.
DECLINE_SENTENCES = {
    DECLINE_CARD_DECLINED: gettext_noop("Your bank declined the card."),
    DECLINE_INSUFFICIENT_FUNDS: gettext_noop("The card does not have enough funds."),
    DECLINE_AUTHENTICATION_REQUIRED: gettext_noop("Your bank asks you to confirm this payment yourself."),
    AUTHENTICATION_REQUIRED: gettext_noop("Your bank asks you to confirm this payment yourself."),
    "expired_card": gettext_noop("The card has expired."),
    "incorrect_cvc": gettext_noop("The security code is not correct."),
    "incorrect_number": gettext_noop("The card number is not correct."),
    "processing_error": gettext_noop("The bank could not process the payment. Please try again later."),
    NEVER_RECEIVED: gettext_noop("The payment did not reach the payment provider."),
}
UNKNOWN_DECLINE = gettext_noop("Your bank declined the card.")


def decline_sentence(code: str) -> str:
    """The plain, translated sentence for a gateway's decline code; any code not listed reads as a
    decline by the bank (never the code itself)."""
    return _(DECLINE_SENTENCES.get(code, UNKNOWN_DECLINE))
