-- Invoices per account (Stripe customer -> account), with failed payment attempts.
select
    c.account_id,
    i.invoice_id,
    i.status,
    i.amount_due,
    i.amount_paid,
    i.amount_remaining,
    i.attempt_count,
    greatest(i.attempt_count - case when i.is_paid then 1 else 0 end, 0) as failed_attempts,
    cast(i.created_at as timestamp) as created_at,
    cast(i.due_at as timestamp) as due_at,
    cast(i.paid_at as timestamp) as paid_at
from staging.stg_stripe__invoices as i
join marts.customer_360 as c on c.stripe_customer_id = i.stripe_customer_id
