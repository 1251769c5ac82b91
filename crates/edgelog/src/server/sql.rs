//! Which SQL the server runs: exactly one query (`SELECT`, `WITH`,
//! `VALUES`), checked here before DataFusion's own refusal of DDL, DML and
//! statements ([`crate::engine::QueryService::prepare_read_only`]). Two
//! locks on one door: `COPY ... TO`, `CREATE EXTERNAL TABLE ... LOCATION`,
//! `INSERT`, `DROP`, `SET` never reach a plan.

use datafusion::sql::parser::{DFParser, Statement};
use datafusion::sql::sqlparser::ast::Statement as SqlStatement;

/// Why a text is not a query the server runs.
pub fn check_read_only(sql: &str) -> Result<(), String> {
    if sql.trim().trim_matches(';').trim().is_empty() {
        return Err("no SQL given: send the query as the request body".into());
    }
    let statements = DFParser::parse_sql(sql).map_err(|e| e.to_string().replace("\n", " "))?;
    if statements.len() != 1 {
        return Err(format!(
            "{} statements given: send one query at a time",
            statements.len()
        ));
    }
    match &statements[0] {
        Statement::Statement(s) if matches!(s.as_ref(), SqlStatement::Query(_)) => Ok(()),
        Statement::Statement(s) => Err(format!(
            "only queries run here (SELECT ...), not {}",
            kind(&s.to_string())
        )),
        Statement::CopyTo(_) => Err("only queries run here (SELECT ...), not COPY".into()),
        Statement::CreateExternalTable(_) => {
            Err("only queries run here (SELECT ...), not CREATE EXTERNAL TABLE".into())
        }
        Statement::Explain(_) => Err("only queries run here (SELECT ...), not EXPLAIN".into()),
        _ => Err("only queries run here (SELECT ...)".into()),
    }
}

/// The statement's first words, for the message (never the whole text).
fn kind(text: &str) -> String {
    text.split_whitespace()
        .take(2)
        .filter(|w| w.chars().all(|c| c.is_ascii_alphabetic()))
        .collect::<Vec<_>>()
        .join(" ")
        .to_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_pass_and_everything_that_writes_or_reads_files_is_refused() {
        for ok in [
            "SELECT 1",
            "select status, count(*) from logs group by status",
            "WITH a AS (SELECT 1 AS x) SELECT * FROM a",
            "SELECT 1;",
        ] {
            assert!(check_read_only(ok).is_ok(), "{ok}");
        }
        for bad in [
            "COPY (SELECT 1) TO '/tmp/x'",
            "CREATE EXTERNAL TABLE t STORED AS CSV LOCATION '/etc'",
            "INSERT INTO logs VALUES (1)",
            "DROP TABLE logs",
            "CREATE TABLE t AS SELECT 1",
            "CREATE VIEW v AS SELECT 1",
            "SET datafusion.execution.batch_size = 1",
            "SELECT 1; SELECT 2",
            "",
            "  ;  ",
            "EXPLAIN SELECT 1",
            "DELETE FROM logs",
        ] {
            assert!(check_read_only(bad).is_err(), "{bad}");
        }
        assert_eq!(
            check_read_only("DROP TABLE logs").unwrap_err(),
            "only queries run here (SELECT ...), not DROP TABLE"
        );
    }
}
