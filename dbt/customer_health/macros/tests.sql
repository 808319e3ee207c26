{#- Generic tests. Like dbt_utils' accepted_range, each returns the failing
    rows, and NULL passes (add not_null where a value is required). -#}

{#- The column is a health score or sub-score: within 0-100. -#}
{% test health_score(model, column_name) %}
select {{ column_name }}
from {{ model }}
where not ({{ column_name }} >= 0 and {{ column_name }} <= 100)
{% endtest %}

{#- The tier column is the tier of the score column (health.tier, with the
    same cutoffs and labels). precision: how the score was rounded (0.1 for
    one decimal), so a rounded score just across a cutoff from the score its
    tier came from still passes. A NULL score must have a NULL tier. -#}
{% test tier_matches_score(model, column_name, score_column, cutoffs=none, labels=none, precision=0) %}
{%- set args = ('' if cutoffs is none else ', cutoffs => ' ~ customer_health._literal(cutoffs))
             ~ ('' if labels is none else ', labels => ' ~ customer_health._text_array(labels)) -%}
select {{ column_name }}, {{ score_column }}
from {{ model }}
where {{ column_name }} is distinct from health.tier(greatest(0, {{ score_column }} - {{ precision }} / 2.0){{ args }})
  and {{ column_name }} is distinct from health.tier(least(100, {{ score_column }} + {{ precision }} / 2.0){{ args }})
{% endtest %}
