-- Each metric normalised to a 0-100 sub-score (NULL = not measured), one
-- column <metric>_score per metric of var('health_metrics').
select account_id, segment, plan, arr, renewal_date,
       {{ customer_health.sub_scores(var('health_metrics')) }}
from {{ ref('account_metrics') }}
