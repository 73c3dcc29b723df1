/** What names a schedule in Temporal: its tenant, definition and id. */
export type ScheduleIdentity = { tenant_id: string; definition_name: string; id: string };

/**
 * A schedule's id in Temporal, `<tenant>/<definition>/<schedule id>`: readable in the Temporal
 * Web UI's Schedules list, like run workflow ids (`<tenant>/<definition>/<run id>`).
 */
export function temporalScheduleId(schedule: ScheduleIdentity): string {
  return `${schedule.tenant_id}/${schedule.definition_name}/${schedule.id}`;
}

/** The workflow id a schedule's action names; Temporal appends `-<scheduled time>` to each fire's. */
export function fireActionWorkflowId(schedule: ScheduleIdentity): string {
  return `${temporalScheduleId(schedule)}/fire`;
}

/** What every fire's workflow id starts with. */
export function fireWorkflowIdPrefix(schedule: ScheduleIdentity): string {
  return `${fireActionWorkflowId(schedule)}-`;
}

/**
 * The time a fire was scheduled for, from its workflow id (Temporal appends `-<RFC 3339 time>` to
 * the action's id), as ISO-8601; undefined when the id carries none.
 */
export function firedAtOf(workflowId: string): string | undefined {
  const match = /-(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z)$/.exec(workflowId);
  const at = match ? new Date(match[1]!) : undefined;
  return at && !Number.isNaN(at.getTime()) ? at.toISOString() : undefined;
}
