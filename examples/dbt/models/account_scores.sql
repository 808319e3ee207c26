-- The weighted score (missing metrics left out, weights renormalised, no
-- score below 60 % coverage), its tier, colour and grade, the two weakest
-- metrics and the explanation: plain columns a BI tool reads directly.
with scored as (
    select s.*, {{ customer_health.score(var('health_metrics'), min_coverage=0.6) }} as raw_score
    from {{ ref('account_subscores') }} s
)
select account_id, segment, plan, arr, renewal_date,
       round(raw_score::numeric, 1) as score,
       {{ customer_health.tier_columns('raw_score') }},
       {{ customer_health.weakest(var('health_metrics'), 2) }} as weakest_metrics,
       {{ customer_health.explanation(var('health_metrics')) }} as explanation,
{%- for name in var('health_metrics') %}
       {{ name }}_score{{ ',' if not loop.last }}
{%- endfor %}
from scored
