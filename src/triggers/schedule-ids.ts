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
