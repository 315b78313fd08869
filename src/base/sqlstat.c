/* sqlstat.c - counters of a SQLite connection's prepared statements, so
 * tests can check how much work a query does (its plan) without timing. */
#include "base.h"

#include <sqlite3.h>
#include <string.h>

int64_t ao_sql_steps(struct sqlite3 *db, const char *sql_part)
{
    int64_t n = 0;
    for (sqlite3_stmt *st = sqlite3_next_stmt(db, NULL); st; st = sqlite3_next_stmt(db, st)) {
        const char *sql = sqlite3_sql(st);
        if (sql && strstr(sql, sql_part))
            n += sqlite3_stmt_status(st, SQLITE_STMTSTATUS_VM_STEP, 0);
    }
    return n;
}
