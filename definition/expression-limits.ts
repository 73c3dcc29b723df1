import type { ExpressionLimits, SharedLimits } from './expression-budget';

/**
 * The limits of one template evaluation inside the workflow (and in activities, for the strings
 * they resolve). Chosen so that a poisoned evaluation fails its step within a fraction of
 * Temporal's 2 s deadlock detection of a workflow activation and within a few tens of megabytes,
 * whatever the expression (see the README's "Bounds").
 */
export const WORKFLOW_EXPRESSION_LIMITS: ExpressionLimits = Object.freeze({
  maxSteps: 200_000,
  maxDepth: 500,
  maxBytes: 32 * 1024 * 1024,
  maxStringLength: 1024 * 1024,
  maxSequence: 100_000,
});

/**
 * What all the evaluations of one workflow task may spend together (each within
 * {@link WORKFLOW_EXPRESSION_LIMITS}): two and a half times what one may. Without it, a
 * definition with hundreds of poisoned transforms that start together would hold one activation
 * hundreds of times longer than one may, past Temporal's isolate execution timeout (5 s in SDK
 * 1.24), and the workflow task would fail and retry forever. The step that runs out fails with an
 * ExpressionError (limit `shared`); so do the steps that evaluate after it in the same task.
 */
export const WORKFLOW_TASK_EXPRESSION_LIMITS: SharedLimits = Object.freeze({
  maxSteps: 500_000,
  maxBytes: 80 * 1024 * 1024,
});
