import { sql, type Kysely } from 'kysely';

/**
 * Retention (see retention.repository.ts).
 *
 * - `runs_finished_idx`: the retention job walks finished runs oldest first.
 * - `runs.retry_of` becomes `on delete set null`: retention may delete a run that a newer run, still
 *   kept, retried; the retry keeps its own trail (reused outputs are recorded in it) and loses the
 *   link to a run that no longer exists.
 * - `runs_retry_of_idx`: that `set null` looks up the retries of every deleted run; without an
 *   index each lookup reads the whole table (10,000 runs deleted in one statement took minutes).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create index runs_finished_idx on runs (finished_at, id) where finished_at is not null`.execute(db);
  await sql`alter table runs drop constraint runs_retry_of_fkey`.execute(db);
  await sql`alter table runs add constraint runs_retry_of_fkey foreign key (retry_of) references runs (id) on delete set null`.execute(db);
  await sql`create index runs_retry_of_idx on runs (retry_of) where retry_of is not null`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index runs_retry_of_idx`.execute(db);
  await sql`alter table runs drop constraint runs_retry_of_fkey`.execute(db);
  await sql`alter table runs add constraint runs_retry_of_fkey foreign key (retry_of) references runs (id)`.execute(db);
  await sql`drop index runs_finished_idx`.execute(db);
}
