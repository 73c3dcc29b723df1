import { defineSignal } from '@temporalio/workflow';
import type { Actor } from './run-types';

/** Why and by whom a run is being cancelled; sent just before Temporal's cancellation request. */
export type CancelRequest = { reason?: string; actor: Actor };

/**
 * Carries a {@link CancelRequest}, so the audit trail can say who cancelled the run and why
 * (Temporal's own cancellation request carries neither).
 */
export const cancelRequestedSignal = defineSignal<[CancelRequest]>('trellis.cancelRequested');
