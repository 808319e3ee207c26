{#- The health score of a row from its sub-score columns (<name><suffix>)
    and the weights in the metrics' configs (health.weighted_score):
    missing: 'renormalize' (default), 'zero', 'neutral' or 'null';
    min_coverage: no score below this share of the weight measured. -#}
{% macro score(metrics, missing=none, min_coverage=none, suffix='_score') -%}
health.weighted_score(
        array[{% for name in metrics %}{{ name }}{{ suffix }}{{ ', ' if not loop.last }}{% endfor %}]::float8[],
        array[{% for name, config in metrics.items() %}{{ customer_health._weight(name, config) }}{{ ', ' if not loop.last }}{% endfor %}]::float8[]
        {%- if missing is not none %}, missing => {{ customer_health._literal(missing) }}{% endif %}
        {%- if min_coverage is not none %}, min_coverage => {{ min_coverage }}{% endif %})
{%- endmacro %}

{#- tier, color and grade columns of a score (health.tier, color, grade);
    cutoffs as in health.tier (default 40 and 70). -#}
{% macro tier_columns(score, cutoffs=none, prefix='') -%}
{%- set c = '' if cutoffs is none else ', cutoffs => ' ~ customer_health._literal(cutoffs) -%}
health.tier({{ score }}{{ c }}) as {{ prefix }}tier,
    health.color({{ score }}{{ c }}) as {{ prefix }}color,
    health.grade({{ score }}) as {{ prefix }}grade
{%- endmacro %}

{#- Why the score is what it is: health.contributions of the row's
    sub-scores (jsonb, one object per metric, most points lost first). -#}
{% macro explanation(metrics, missing=none, suffix='_score') -%}
{%- set policy = '' if missing is none else ', missing => ' ~ customer_health._literal(missing) -%}
{{ customer_health._over_scorecard('health.contributions(health.scorecard(m.metric, m.score, m.weight)' ~ policy ~ ')', metrics, suffix) }}
{%- endmacro %}

{#- The n metrics that lose the most points, as text ("a, b"). -#}
{% macro weakest(metrics, n=2, suffix='_score') -%}
{{ customer_health._over_scorecard("array_to_string(health.weakest(health.scorecard(m.metric, m.score, m.weight), " ~ n ~ "), ', ')", metrics, suffix) }}
{%- endmacro %}

{#- A scalar subquery computing `expression` over the row's metrics as rows
    m(metric, score, weight), so an aggregate such as health.scorecard sees
    one row per metric. -#}
{% macro _over_scorecard(expression, metrics, suffix) -%}
(select {{ expression }}
     from (values {% for name, config in metrics.items() -%}
                  ('{{ name }}', {{ name }}{{ suffix }}::float8, {{ customer_health._weight(name, config) }}::float8){{ ', ' if not loop.last }}
                  {%- endfor %}) as m(metric, score, weight))
{%- endmacro %}

{% macro _weight(name, config) -%}
{%- if config.get('weight') is none -%}
  {{ exceptions.raise_compiler_error("customer_health: metric " ~ name ~ " has no weight") }}
{%- endif -%}
{{ config['weight'] }}
{%- endmacro %}
