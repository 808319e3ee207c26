-- Each metric normalised to a 0-100 sub-score (NULL = not measured), with
-- the demo's scorecard: NPS bands, targets for frequency and seats, a
-- piecewise curve for adoption, linear for onboarding and open tickets.
select account_id, segment, plan, arr, renewal_date,
       health.scale_bands(nps_rating, '{6,8}', '{0,60,100}')                       as nps_score,
       health.scale_target(active_days_30d, 20)                                    as frequency_score,
       health.scale_piecewise(feature_adoption, '{0,20,50,80}', '{0,50,80,100}')   as adoption_score,
       health.scale_target(seats_used_pct, 85)                                     as seats_score,
       health.scale_linear(onboarding_pct, 0, 100)                                 as onboarding_score,
       health.scale_linear(open_tickets, 0, 3, higher_is_better => false)          as tickets_score,
       health.scale_bands(invoice_days_late, '{0,15,30}', '{100,60,25,0}')         as invoices_score
from {{ ref('account_metrics') }}
