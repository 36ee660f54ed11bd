"""The company's behaviour in numbers: rates, mixes and effect sizes, with the reasoning behind them.

Rates are per day unless the name says otherwise. Segment-indexed tuples are (SMB, Mid-Market,
Enterprise).
"""

from __future__ import annotations

import math

YEAR = 365.25

SEGMENTS = ("SMB", "Mid-Market", "Enterprise")
SEGMENT_SHARE = (0.55, 0.33, 0.12)
SEAT_MEDIAN = (8.0, 35.0, 160.0)
SEAT_LOG_SD = (0.5, 0.45, 0.6)
SEAT_RANGE = ((2, 40), (10, 250), (50, 2000))
EMPLOYEES_PER_SEAT = ((2.0, 12.0), (4.0, 20.0), (6.0, 40.0))
PRICE_PER_SEAT_MONTH = (45.0, 38.0, 30.0)  # list price, USD
ANNUAL_DISCOUNT = 0.85  # annual prepay costs 12 x monthly x this
PRODUCTS = ("prod_Starter", "prod_Business", "prod_Enterprise")

# Plans. SMB: month-to-month self-serve or an annual plan paid by card. Mid-Market: annual
# contracts, paid yearly (often by invoice) or monthly by card. Enterprise: 1-3 year contracts,
# invoiced yearly with net-30 terms.
SMB_MONTHLY_SHARE = 0.35
MM_TWO_YEAR_SHARE = 0.15
MM_MONTHLY_BILLING_SHARE = 0.45
MM_SEND_INVOICE_SHARE = 0.6  # of the yearly-billed
ENT_TERM_SHARES = ((12, 0.6), (24, 0.28), (36, 0.12))
ENT_SEND_INVOICE_SHARE = 0.85
NET_TERMS_DAYS = 30
PRICE_UPLIFT_MAX = 0.07  # at renewal

# --- hidden health ------------------------------------------------------------------------------
# Engagement e = mu + x + c: an account baseline mu, a fast mean-reverting wobble x, and a slow
# component c that shocks push and that recovers over months. Usage, tickets and satisfaction all
# read e; the renewal decision reads e plus the budget / competitor / champion flags.
MU_SD = 0.55
X_SD = 0.35  # stationary sd of x
X_PHI = 0.5 ** (1 / 21)  # half-life 21 days
X_SIGMA = X_SD * math.sqrt(1 - X_PHI**2)
C_PHI = 0.5 ** (1 / 120)  # shocks fade with a 120-day half-life
NEW_ACCOUNT_C = -0.25  # new customers start below their baseline until onboarding lands

JUMP_CHAMPION_LEFT = -0.8
JUMP_NEW_CHAMPION = 0.35
JUMP_COMPETITOR = -0.45
JUMP_BUDGET_CUT = -0.15
JUMP_INCIDENT = -0.25
JUMP_OUTAGE = -0.12
JUMP_ONBOARDING_SUCCESS = 0.5
JUMP_ONBOARDING_FAILURE = -0.6
ONBOARDING_SUCCESS_RATE = 0.75
ONBOARDING_DAYS = (45, 90)

HAZARD_CHAMPION_LEFT = 0.15 / YEAR
HAZARD_NEW_CHAMPION = 1 / 75  # a new champion emerges ~2.5 months after the old one left
HAZARD_BUDGET_CUT = 0.07 / YEAR
BUDGET_CUT_DAYS = (150, 360)
HAZARD_COMPETITOR = 0.15 / YEAR  # times (1 + max(0, -e)): unhappy customers look around more
COMPETITOR_DAYS = (45, 120)
HAZARD_INCIDENT = 0.8 / YEAR  # an account-specific defect period (integration broken, data bug)
INCIDENT_DAYS = (2, 7)
INCIDENT_ACTIVITY = 0.75
OUTAGE_SHARDS = 8  # platform outages hit one shard (cluster) of workspaces at a time
HAZARD_OUTAGE = 1 / 25
OUTAGE_DAYS = (1, 3)
OUTAGE_SEVERITY = (0.4, 0.9)  # share of activity lost while it lasts

# --- churn decision -----------------------------------------------------------------------------
# Contracts churn at their end. The customer decides LEAD days before; the decision is
# Bernoulli(sigmoid(z)) with z = base + E*e + B*budget + K*competitor + H*no_champion, plus an
# unpredictable churn (acquired, budget eliminated) that no signal foretells.
DECISION_E = -1.7
DECISION_BUDGET = 1.5
DECISION_COMPETITOR = 1.3
DECISION_NO_CHAMPION = 0.9
DECISION_BASE_TERM = -3.3  # contract renewals
DECISION_BASE_MONTHLY = -5.4  # month-to-month plans decide every month
UNPREDICTABLE_TERM = 0.022
UNPREDICTABLE_MONTHLY = 0.0025
DECISION_LEAD_DAYS = (30, 75)  # term contracts
DECISION_LEAD_DAYS_MONTHLY = (2, 10)
NOTICE_MEAN_DELAY_DAYS = 7  # decision -> cancel_at_period_end, term contracts
# A customer that has decided to leave (for reasons the signals show) winds down: fewer people use
# the product and data gets exported. Unpredictable churners (acquired) give no such sign.
JUMP_WIND_DOWN = -0.35
WIND_DOWN_EXPORTS = 4.0
NOTICE_MIN_DAYS_BEFORE_END = 3
UNPREDICTABLE_CAUSES = ("acquired", "budget_eliminated")
UNPREDICTABLE_CAUSE_SHARE = (0.6, 0.4)
SIGNAL_CAUSES = ("low_engagement", "budget_cut", "competitor", "champion_loss")

RENEWAL_OPP_DAYS_BEFORE = 120
SF_SYNC_LAG_DAYS = (0, 14)  # ARR__c / Contract_End_Date__c are updated by hand, a little late

# --- seats, expansion -----------------------------------------------------------------------------
# Seat demand (people who want access) grows on healthy accounts and shrinks on unhealthy ones;
# provisioned users follow it up to the licensed seats. Full accounts that are healthy expand.
DEMAND_GROWTH_PER_YEAR = 0.08
DEMAND_GROWTH_PER_E_PER_YEAR = 0.2
DEMAND_NOISE_PER_SQRT_YEAR = 0.08
INITIAL_UTILISATION = (0.55, 0.98)
EXPANSION_UTILISATION = 0.95
EXPANSION_HAZARD = 1 / 35  # times sigmoid(2e) while full
EXPANSION_WIN_RATE = 0.85
EXPANSION_CLOSE_DAYS = (14, 45)
EXPANSION_HEADROOM = (1.1, 1.35)
BUDGET_CUT_LAYOFF_SHARE = 0.5  # budget cuts that also shrink the team
BUDGET_CUT_LAYOFF = (0.7, 0.9)
RENEWAL_BUDGET_SEAT_CUT = (0.6, 0.85)
RENEWAL_RIGHTSIZE_BELOW = 0.7

# --- product usage --------------------------------------------------------------------------------
# A user's daily chance of being active is base x sigmoid(SHARPNESS x (e + affinity)): as an
# account's engagement falls, its least attached users (low affinity) drop away first, so 30-day
# active users, not only event counts, follow engagement.
USER_BASE_MEDIAN = 0.3
USER_BASE_LOG_SD = 0.45
USER_AFFINITY_MEAN = 0.7
USER_AFFINITY_SD = 0.7
USER_SHARPNESS = 2.0
WEEKEND_ACTIVITY = 0.12
EXTRA_EVENTS_MEAN = 1.0  # per active user-day, besides session_started, times exp(0.4 e)
EXTRA_EVENTS_E = 0.4
USER_TURNOVER_PER_YEAR = 0.12
CONTACT_IS_USER = 0.55
CHAMPION_IS_USER = 0.95
EMAIL_SHARING_WORKSPACES = 0.6  # workspaces whose export includes user emails in session events
WORKSPACE_ID_MISSING_IN_CRM = 0.03

# --- contacts -------------------------------------------------------------------------------------
CONTACTS_PER_SEGMENT = ((3, 6), (5, 10), (8, 15))
CONTACT_LEAVES_PER_YEAR = 0.12
LEFT_FLAG_MEAN_DELAY_DAYS = 20  # the CSM hears about a departure and ticks Left_Company__c
LEFT_FLAG_NEVER = 0.2
NEW_CHAMPION_IS_NEW_CONTACT = 0.5
DUPLICATE_CONTACT_RATE = 0.02
EMAIL_FORMAT_DIFFERS = 0.2  # CRM holds jsmith@ where the product has john.smith@

# --- support --------------------------------------------------------------------------------------
TICKETS_PER_MONTH = (0.5, 1.5, 4.0)
TICKET_E = -0.25  # unhealthy accounts file a little more
WEEKEND_TICKETS = 0.25
ONBOARDING_TICKET_FACTOR = 1.6
BASE_TAG_MIX = (("how-to", 0.40), ("bug", 0.30), ("feature-request", 0.15), ("billing", 0.08), ("access", 0.07))
PRIORITIES = ("low", "normal", "high", "urgent")
PRIORITY_MIX = (0.22, 0.63, 0.12, 0.03)
FIRST_REPLY_MEDIAN_MIN = (400.0, 180.0, 60.0, 20.0)
RESOLUTION_MEDIAN_DAYS = (3.0, 2.0, 1.0, 0.3)
CLOSE_AFTER_SOLVED_DAYS = 4
CSAT_RESPONSE_RATE = 0.25
OUTAGE_TICKET_RATE = 0.35  # per affected account on an outage's first day
INCIDENT_TICKET_RATE = 0.5  # per day of an account incident
BUDGET_TICKET_RATE = 0.5  # on a budget cut's onset
PAYMENT_FAILURE_TICKET_RATE = 0.3
CANCELLATION_TICKET_RATE = 0.4
COMPETITOR_FEATURE_REQUEST_FACTOR = 2.5

# --- billing --------------------------------------------------------------------------------------
CARD_FAILURE_RATE = 0.03
CARD_FAILURE_BUDGET_FACTOR = 4.0
RETRY_SUCCESS_RATE = 0.55
RETRY_OFFSETS_DAYS = (3, 5, 7)  # after the first attempt; then uncollectible
INVOICE_PAY_DELAY_MEDIAN_DAYS = 18.0  # send_invoice customers
INVOICE_PAY_DELAY_LOG_SD = 0.5
INVOICE_PAY_DELAY_BUDGET_FACTOR = 2.2
INVOICE_UNCOLLECTIBLE_AFTER_DAYS = 90
