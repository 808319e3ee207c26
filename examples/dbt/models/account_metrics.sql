-- One row per account: the raw metrics as of the warehouse's as-of date.
with as_of as (
    select as_of from {{ source('demo', 'generation') }}
),
usage as (
    select e.account_id,
           count(distinct (e.occurred_at at time zone 'UTC')::date) as active_days,
           count(distinct e.user_id) as active_users,
           count(distinct e.feature) as key_features_used
    from {{ source('demo', 'product_events') }} e, as_of
    where e.occurred_at >= (as_of.as_of - 30) at time zone 'UTC'
      and e.occurred_at < as_of.as_of at time zone 'UTC'
    group by e.account_id
),
nps as (
    select r.account_id, round(avg(r.rating), 1)::float8 as nps_rating
    from {{ source('demo', 'survey_responses') }} r, as_of
    where r.survey = 'nps' and r.answered_on > as_of.as_of - 180
    group by r.account_id
),
onboarding as (
    select m.account_id,
           round(100.0 * count(*) filter (where m.completed_on <= as_of.as_of) / count(*))::float8 as onboarding_pct
    from {{ source('demo', 'onboarding_milestones') }} m, as_of
    where m.due_on <= as_of.as_of
    group by m.account_id
),
tickets as (
    select account_id, count(*) as open_tickets
    from {{ source('demo', 'support_tickets') }}
    where resolved_at is null
    group by account_id
),
invoices as (
    select i.account_id, greatest(0, max(coalesce(i.paid_on, as_of.as_of) - i.due_on))::float8 as invoice_days_late
    from {{ source('demo', 'invoices') }} i, as_of
    where i.due_on > as_of.as_of - 180 and i.due_on < as_of.as_of
    group by i.account_id
)
select a.account_id, a.segment, a.plan, a.arr, a.renewal_date,
       nps.nps_rating,
       coalesce(usage.active_days, 0)::float8 as active_days_30d,
       round(100.0 * coalesce(usage.key_features_used, 0)
             / (select count(*) from {{ source('demo', 'key_features') }}))::float8 as feature_adoption,
       least(100, round(100.0 * coalesce(usage.active_users, 0) / a.seats))::float8 as seats_used_pct,
       onboarding.onboarding_pct,
       coalesce(tickets.open_tickets, 0)::float8 as open_tickets,
       invoices.invoice_days_late
from {{ source('demo', 'accounts') }} a
left join usage using (account_id)
left join nps using (account_id)
left join onboarding using (account_id)
left join tickets using (account_id)
left join invoices using (account_id)
