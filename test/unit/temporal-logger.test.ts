import { ApplicationFailure } from '@temporalio/common';
import { configureLogger } from '../../src/observability/logger';
import { TemporalLogger } from '../../src/observability/temporal-logger';

/** The Temporal SDK's log lines as Trellis writes them: ids from the workflow id, stacks only for faults. */

const lines: Array<Record<string, any>> = [];
const WORKFLOW_ID = 'acme/order-fulfilment/5b0c2a55-3f5e-4a57-9d0e-1f0e6e1c2b3a';

beforeEach(() => {
  lines.length = 0;
  configureLogger({ level: 'info', destination: { write: (line: string) => void lines.push(JSON.parse(line)) } });
});

it('names the tenant and the run from the workflow id, and keeps Temporal\'s run id apart', () => {
  new TemporalLogger('INFO').info('Worker state changed', { workflowId: WORKFLOW_ID, runId: 'temporal-run' });
  expect(lines).toEqual([expect.objectContaining({ level: 30, tenantId: 'acme', definition: 'order-fulfilment', runId: '5b0c2a55-3f5e-4a57-9d0e-1f0e6e1c2b3a', temporalRunId: 'temporal-run' })]);
});

it('logs a fault of Trellis\'s own (any error but a failure the activity chose) with its stack', () => {
  new TemporalLogger('INFO').warn('Activity failed', { workflowId: WORKFLOW_ID, error: new TypeError('cannot read properties of undefined') });
  expect(lines).toEqual([expect.objectContaining({ level: 40, error: expect.objectContaining({ name: 'TypeError', stack: expect.stringContaining('TypeError') }) })]);
});

it('leaves a business failure to the audit sink\'s line: the SDK\'s "Activity failed" drops to DEBUG', () => {
  new TemporalLogger('INFO').warn('Activity failed', { workflowId: WORKFLOW_ID, error: ApplicationFailure.nonRetryable('409 Conflict', 'HttpStatusError') });
  expect(lines).toEqual([]);
  configureLogger({ level: 'debug', destination: { write: (line: string) => void lines.push(JSON.parse(line)) } });
  new TemporalLogger('DEBUG').warn('Activity failed', { workflowId: WORKFLOW_ID, error: ApplicationFailure.nonRetryable('409 Conflict', 'HttpStatusError') });
  expect(lines).toEqual([expect.objectContaining({ level: 20, error: { name: 'ApplicationFailure', type: 'HttpStatusError', message: '409 Conflict' } })]);
});

it('drops lines below the SDK\'s own level whatever LOG_LEVEL says', () => {
  new TemporalLogger('ERROR').warn('Worker is shutting down');
  expect(lines).toEqual([]);
});
