"""Every change of the SLA app (SPEC SLA-1…SLA-9, PRE-2): incidents, maintenance windows, claims, the
penalties they earn and their credit to the Prepaid Account, force-majeure terminations.

Each service checks who acts before anything is written, locks what it changes, writes the evidence
with the rule id that allowed it (EVD-1) and raises `RuleViolation`, changing nothing, when a rule
says no. Notices to the contact persons are sent by Celery after commit (`sla.tasks`), each with a
dedupe key, so a redelivered task tells nobody twice (REN-8).

Decisions where the SPEC is silent:
- A claim is filed for one Service (the support ticket's). The two-month deadline (SLA-5) is checked
  on the claimed start when it is filed, and again on the incident's start when staff accept it.
- Staff accept a claim by naming a *resolved* incident that affected the claim's Service; the penalty
  is computed then, from the incident as recorded by the provider (not the claimed times), on the
  invoice covering the Zurich day the incident started, VAT included, less what credit notes took
  off it. No invoice covers that day (a trial) → the claim is accepted with nothing to credit.
- A claim for an incident of an excluded cause (SLA-6) is refused, not accepted at 0: staff refuse it
  with that cause. An incident that stayed within its class's allowance is not an occurrence
  (SLA-2): the claim is refused with that reason.
- One accepted claim per Service and incident (database constraint): the penalty is earned once.
- The decision is posted on the claim's ticket by the deciding staff user, in the ticket's language,
  from the support address (SUP-7), and the ticket is resolved.
- A 4th (the schedule's figure) class-A occurrence in a year: when the incident is resolved, the
  contact persons are told they may end the contract (SLA-3).
- Force majeure (SLA-9): while a force-majeure incident affecting a Service goes on, its Legal
  Responsibles and administrators may terminate it at once; once it has lasted the schedule's days
  (30), staff may terminate it too. Neither earns compensation (BIL-13).

The modules: `incidents` (incidents, maintenance windows, their notices) and `claims` (claims,
penalties, their credit, force-majeure terminations). Import the services from here.
"""

from sla.services.claims import (
    JOB_CREDIT,
    claim_accept,
    claim_file,
    claim_refuse,
    penalty_compute,
    penalty_credit,
    service_terminate_force_majeure,
    staff_terminate_force_majeure,
)
from sla.services.incidents import (
    INCIDENT_TEMPLATES,
    incident_notify,
    incident_record,
    incident_resolve,
    incident_update,
    maintenance_notify,
    maintenance_schedule,
    notices_untold,
)

__all__ = [
    "INCIDENT_TEMPLATES",
    "JOB_CREDIT",
    "claim_accept",
    "claim_file",
    "claim_refuse",
    "incident_notify",
    "incident_record",
    "incident_resolve",
    "incident_update",
    "maintenance_notify",
    "maintenance_schedule",
    "notices_untold",
    "penalty_compute",
    "penalty_credit",
    "service_terminate_force_majeure",
    "staff_terminate_force_majeure",
]
