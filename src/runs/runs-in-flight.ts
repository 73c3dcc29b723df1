import { sql, type Kysely } from 'kysely';
import { FINAL_RUN_STATUSES, RUN_STATUSES } from '../../definition/step-types';
import type { Database } from '../db/database';
import { RateLimitedError } from '../errors';

/** Run statuses of a run that is not finished: it holds a workflow (and maybe timers, activities) in Temporal. */
export const IN_FLIGHT_RUN_STATUSES: readonly string[] = RUN_STATUSES.filter((status) => !FINAL_RUN_STATUSES.has(status));

/** The runs a tenant may have in flight unless configured otherwise (`TRELLIS_MAX_RUNS_IN_FLIGHT`). */
export const DEFAULT_MAX_RUNS_IN_FLIGHT = 1000;

/**
 * Refuses to start another run of a tenant that already has `max` runs in flight (RUNNING or
 * COMPENSATING), so that one tenant cannot fill the workers' queue for everyone. Counts at most
 * `max` rows (an index holds only the runs in flight). Runs started at the same moment may pass
 * the check together, so the limit may be exceeded by as many starts as race.
 * @throws RateLimitedError naming the limit and the count
 */
export async function checkRunsInFlight(db: Kysely<Database>, tenantId: string, max: number): Promise<void> {
  const { count } = await db
    .selectFrom((eb) =>
      eb
        .selectFrom('runs')
        .select('id')
        .where('tenant_id', '=', tenantId)
        // Literals, not parameters: the partial index runs_in_flight_idx matches only them.
        .where('status', 'in', IN_FLIGHT_RUN_STATUSES.map((status) => sql.lit(status)))
        .limit(max)
        .as('in_flight'),
    )
    .select((eb) => eb.fn.countAll<string>().as('count'))
    .executeTakeFirstOrThrow();
  const inFlight = Number(count);
  if (inFlight < max) return;
  throw new RateLimitedError(
    `tenant "${tenantId}" has ${inFlight} runs in flight (RUNNING or COMPENSATING), the limit is ${max} (TRELLIS_MAX_RUNS_IN_FLIGHT): wait for some to finish, or cancel some`,
    { name: 'runsInFlight', max, actual: inFlight },
  );
}
