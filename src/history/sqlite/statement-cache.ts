/** Prepared statements kept per SQL text, so each is compiled once per connection. */

import type Database from 'better-sqlite3';

/** A better-sqlite3 statement with untyped binds; rows are typed by the caller. */
export type Statement = Database.Statement<unknown[]>;

/** Caches prepared statements of one connection by their SQL text. */
export class StatementCache {
  private readonly statements = new Map<string, Statement>();

  constructor(private readonly db: Database.Database) {}

  /** The prepared statement for sql, compiled on first use. */
  get(sql: string): Statement {
    let stmt = this.statements.get(sql);
    if (stmt === undefined) {
      stmt = this.db.prepare<unknown[]>(sql);
      this.statements.set(sql, stmt);
    }
    return stmt;
  }
}
