{#- One metric as a 0-100 sub-score: the health.scale_* call its config names.

    config: {'method': 'linear' | 'log' | 'target' | 'bands' | 'piecewise' | 'zscore' | 'zscore_linear',
             and that normaliser's arguments by name:
             lo, hi, target, cutoffs, knots, scores, mean, stddev, clip, higher_is_better, out_of_range}
    Other keys of the config ('weight', 'column') are for score() and ignored here.

    {{ customer_health.sub_score('active_days_30d', {'method': 'target', 'target': 20}) }}
      -> health.scale_target(active_days_30d, target => 20)
-#}
{% macro sub_score(column, config) -%}
{%- set arguments = {
    'linear': ['lo', 'hi', 'higher_is_better', 'out_of_range'],
    'log': ['lo', 'hi', 'higher_is_better', 'out_of_range'],
    'target': ['target', 'higher_is_better'],
    'bands': ['cutoffs', 'scores'],
    'piecewise': ['knots', 'scores'],
    'zscore': ['mean', 'stddev', 'higher_is_better'],
    'zscore_linear': ['mean', 'stddev', 'clip', 'higher_is_better'],
} -%}
{%- set method = config.get('method') -%}
{%- if method not in arguments -%}
  {{ exceptions.raise_compiler_error("customer_health.sub_score(" ~ column ~ "): method must be one of "
       ~ (arguments.keys() | list | sort | join(', ')) ~ ", got " ~ method) }}
{%- endif -%}
{%- for key in config if key not in ['method', 'weight', 'column'] and key not in arguments[method] -%}
  {{ exceptions.raise_compiler_error("customer_health.sub_score(" ~ column ~ "): " ~ method
       ~ " takes " ~ (arguments[method] | join(', ')) ~ ", not " ~ key) }}
{%- endfor -%}
health.scale_{{ method }}({{ column }}
{%- for key in arguments[method] if key in config -%}
, {{ key }} => {{ customer_health._literal(config[key]) }}
{%- endfor -%}
)
{%- endmacro %}

{#- Every metric of a dict {name: config} as "<sub_score> as <name><suffix>";
    the column read is config['column'], else the name. -#}
{% macro sub_scores(metrics, suffix='_score') -%}
{%- for name, config in metrics.items() %}
    {{ customer_health.sub_score(config.get('column', name), config) }} as {{ name }}{{ suffix }}
{%- if not loop.last %},{% endif -%}
{%- endfor -%}
{%- endmacro %}

{#- A Python value as SQL: lists become float8 arrays, strings quoted literals. -#}
{% macro _literal(value) -%}
{%- if value is none -%} null
{%- elif value is sameas true -%} true
{%- elif value is sameas false -%} false
{%- elif value is string -%} '{{ value | replace("'", "''") }}'
{%- elif value is iterable -%} array[{{ value | join(', ') }}]::float8[]
{%- else -%} {{ value }}
{%- endif -%}
{%- endmacro %}

{% macro _text_array(values) -%}
array[{% for v in values %}{{ customer_health._literal(v | string) }}{{ ', ' if not loop.last }}{% endfor %}]::text[]
{%- endmacro %}
