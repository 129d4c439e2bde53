"""Subscription tables: Services, their options and credits, trial flags and scopes, debit attempts and
money-back refunds. Their tables keep the names they had in `billing` (Meta.db_table)."""

from subscriptions.models.credits import ServiceCreditEntry
from subscriptions.models.renewals import MoneyBackCardRefund, MoneyBackRefund, RenewalAttempt
from subscriptions.models.services import MembershipServiceScope, Service, ServiceAddOn, TrialFlag

__all__ = [
    "MembershipServiceScope",
    "MoneyBackCardRefund",
    "MoneyBackRefund",
    "RenewalAttempt",
    "Service",
    "ServiceAddOn",
    "ServiceCreditEntry",
    "TrialFlag",
]
