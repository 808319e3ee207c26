# Looker model for the customer_health demo: one explore over the scored
# accounts. Point the connection at the demo database
# (jdbc:postgresql://127.0.0.1:55432/customer_health_demo after `make demo`).
connection: "customer_health_demo"

include: "/scored_accounts.view.lkml"

datagroup: nightly_scores {
  # the pg_cron job refreshes demo.scored_accounts every night
  sql_trigger: SELECT max(refreshed_at) FROM demo.scored_accounts ;;
  max_cache_age: "24 hours"
}

explore: scored_accounts {
  label: "Customer health"
  description: "Accounts with their health score, tier and the reasons behind it"
  persist_with: nightly_scores
  always_filter: {
    filters: [scored_accounts.score: "NOT NULL"]
  }
}
