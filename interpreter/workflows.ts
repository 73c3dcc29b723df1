/** Entry point of the workflow bundle: every workflow type the Trellis worker registers. */
export { trellisRun } from './run-definition.workflow';
export { trellisMapBatch } from './map-batch.workflow';
export { trellisRetention } from './retention.workflow';
export { trellisScheduleFire } from './schedule-fire.workflow';
