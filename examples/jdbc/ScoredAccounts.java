// A BI tool's view of the scored accounts: connect over JDBC (the PostgreSQL
// driver Looker, Tableau and Metabase use), read demo.scored_accounts, and
// print each column's SQL type as the driver reports it, then the rows.
//
//   java -cp /usr/share/java/postgresql.jar examples/jdbc/ScoredAccounts.java \
//        jdbc:postgresql://127.0.0.1:55432/customer_health_demo postgres 5
//
// Output, tab-separated:
//   column <name> <type name> <java class>
//   row <account_id> <score> <tier> <renewal_date> <arr> <first explanation metric>
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;

public class ScoredAccounts {
    public static void main(String[] args) throws Exception {
        String url = args[0];
        String user = args.length > 1 ? args[1] : "postgres";
        int limit = args.length > 2 ? Integer.parseInt(args[2]) : 10;
        try (Connection c = DriverManager.getConnection(url, user, "");
             PreparedStatement st = c.prepareStatement(
                 "SELECT account_id, name, segment, plan, arr, seats, renewal_date, score, tier, color, grade, "
                 + "coverage, weakest_metrics, explanation, metrics_as_of "
                 + "FROM demo.scored_accounts WHERE score IS NOT NULL ORDER BY score, account_id LIMIT ?")) {
            st.setInt(1, limit);
            try (ResultSet rs = st.executeQuery()) {
                ResultSetMetaData md = rs.getMetaData();
                for (int i = 1; i <= md.getColumnCount(); i++) {
                    System.out.println("column\t" + md.getColumnName(i) + "\t" + md.getColumnTypeName(i)
                        + "\t" + md.getColumnClassName(i));
                }
                while (rs.next()) {
                    // The explanation is jsonb; a BI tool reads it as text (JSON).
                    String explanation = rs.getString("explanation");
                    String firstMetric = explanation.replaceFirst("(?s)^\\[\\{.*?\"metric\": \"([^\"]+)\".*$", "$1");
                    System.out.println("row\t" + rs.getInt("account_id") + "\t" + rs.getBigDecimal("score")
                        + "\t" + rs.getString("tier") + "\t" + rs.getDate("renewal_date")
                        + "\t" + rs.getBigDecimal("arr") + "\t" + firstMetric);
                }
            }
        }
    }
}
