import { defineSignal } from '@temporalio/workflow';
import type { Actor } from './run-types';

/** Why and by whom a run is being cancelled; sent just before Temporal's cancellation request. */
export type CancelRequest = { reason?: string; actor: Actor };

/**
 * Carries a {@link CancelRequest}, so the audit trail can say who cancelled the run and why
 * (Temporal's own cancellation request carries neither).
 */
export const cancelRequestedSignal = defineSignal<[CancelRequest]>('trellis.cancelRequested');

/** A signal sent to a run for its `wait` steps (`signalRun`): the name they wait for and a payload. */
export type SignalDelivery = { signal: string; payload: unknown; actor: Actor };

/**
 * Delivers a {@link SignalDelivery}. One Temporal signal for every user-level name, so any name a
 * definition chooses works and none can collide with Trellis's own signals. Deliveries queue per
 * name until a `wait` step takes them, so a signal sent before its step is reached is not lost.
 */
export const runSignal = defineSignal<[SignalDelivery]>('trellis.signal');
