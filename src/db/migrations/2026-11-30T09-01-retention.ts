import { sql, type Kysely } from 'kysely';

/**
 * Retention (see retention.repository.ts).
 *
 * - `runs_finished_idx`: the retention job walks finished runs oldest first.
 * - `runs.retry_of` becomes `on delete set null`: retention may delete a run that a newer run, still
 *   kept, retried; the retry keeps its own trail (reused outputs are recorded in it) and loses the
 *   link to a run that no longer exists.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create index runs_finished_idx on runs (finished_at, id) where finished_at is not null`.execute(db);
  await sql`alter table runs drop constraint runs_retry_of_fkey`.execute(db);
  await sql`alter table runs add constraint runs_retry_of_fkey foreign key (retry_of) references runs (id) on delete set null`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`alter table runs drop constraint runs_retry_of_fkey`.execute(db);
  await sql`alter table runs add constraint runs_retry_of_fkey foreign key (retry_of) references runs (id)`.execute(db);
  await sql`drop index runs_finished_idx`.execute(db);
}
