# The scored accounts materialized view (demo.scored_accounts, refreshed
# nightly by pg_cron) as a Looker view. Every column is a plain SQL type
# (numeric, text, date, timestamptz); the explanation is jsonb, read with
# Postgres' JSON operators.
view: scored_accounts {
  sql_table_name: demo.scored_accounts ;;

  dimension: account_id {
    primary_key: yes
    type: number
    sql: ${TABLE}.account_id ;;
  }
  dimension: name {
    type: string
    sql: ${TABLE}.name ;;
  }
  dimension: segment {
    type: string
    sql: ${TABLE}.segment ;;
  }
  dimension: plan {
    type: string
    sql: ${TABLE}.plan ;;
  }
  dimension: arr {
    label: "ARR"
    type: number
    value_format_name: usd_0
    sql: ${TABLE}.arr ;;
  }
  dimension: seats {
    type: number
    sql: ${TABLE}.seats ;;
  }
  dimension_group: renewal {
    type: time
    timeframes: [date, month, quarter]
    datatype: date
    sql: ${TABLE}.renewal_date ;;
  }
  dimension: score {
    description: "Customer health score, 0-100 (NULL below 60 % coverage)"
    type: number
    value_format_name: decimal_1
    sql: ${TABLE}.score ;;
  }
  dimension: score_band {
    type: tier
    tiers: [40, 70]
    style: integer
    sql: ${score} ;;
  }
  dimension: tier {
    description: "at_risk (0-40), neutral (40-70], healthy (above 70)"
    type: string
    sql: ${TABLE}.tier ;;
    html: <span style="color: {% if value == 'at_risk' %}#d64545{% elsif value == 'neutral' %}#b08800{% else %}#2f9e44{% endif %}">{{ value }}</span> ;;
  }
  dimension: color {
    type: string
    sql: ${TABLE}.color ;;
  }
  dimension: grade {
    type: string
    sql: ${TABLE}.grade ;;
  }
  dimension: coverage {
    description: "Share of the scorecard's weight that was measured"
    type: number
    value_format_name: percent_0
    sql: ${TABLE}.coverage ;;
  }
  dimension: weakest_metrics {
    description: "The metrics that cost the most points"
    type: string
    sql: ${TABLE}.weakest_metrics ;;
  }
  dimension: biggest_loss_metric {
    description: "The metric that cost the most points (from the jsonb explanation)"
    type: string
    sql: ${TABLE}.explanation -> 0 ->> 'metric' ;;
  }
  dimension: explanation {
    description: "Per-metric contributions as JSON"
    type: string
    sql: ${TABLE}.explanation::text ;;
  }
  dimension_group: metrics_as_of {
    type: time
    timeframes: [date, week, month]
    datatype: date
    sql: ${TABLE}.metrics_as_of ;;
  }
  dimension_group: refreshed {
    type: time
    timeframes: [time, date]
    sql: ${TABLE}.refreshed_at ;;
  }

  measure: accounts {
    type: count
    drill_fields: [account_id, name, segment, score, tier, weakest_metrics]
  }
  measure: average_score {
    type: average
    value_format_name: decimal_1
    sql: ${score} ;;
  }
  measure: arr_total {
    label: "ARR"
    type: sum
    value_format_name: usd_0
    sql: ${arr} ;;
  }
  measure: arr_at_risk {
    label: "ARR at risk"
    type: sum
    value_format_name: usd_0
    sql: ${arr} ;;
    filters: [tier: "at_risk"]
  }
}
