-- The weighted score (missing metrics left out, weights renormalised, no
-- score below 60 % coverage), its tier, colour and grade: plain columns a
-- BI tool reads directly.
with scored as (
    select s.*,
           health.weighted_score(
               array[nps_score, frequency_score, adoption_score, seats_score,
                     onboarding_score, tickets_score, invoices_score],
               '{25,20,15,10,10,10,10}', min_coverage => 0.6) as raw_score
    from {{ ref('account_subscores') }} s
)
select account_id, segment, plan, arr, renewal_date,
       round(raw_score::numeric, 1) as score,
       health.tier(raw_score) as tier,
       health.color(raw_score) as color,
       health.grade(raw_score) as grade,
       nps_score, frequency_score, adoption_score, seats_score,
       onboarding_score, tickets_score, invoices_score
from scored
