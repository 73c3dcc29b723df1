import type { ExpressionLimits } from './expression-budget';

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
