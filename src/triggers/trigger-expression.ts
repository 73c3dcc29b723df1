import { parseExpression, expressionReferences, TEMPLATE_CLOSE } from '../../definition/expression';
import { ExpressionError } from '../../definition/expression-error';
import { evaluateTemplate } from '../../definition/template';
import type { FieldError } from '../errors';

/** Longest expression a webhook's `input` or a trigger's `filter` and `input` may be. */
export const MAX_TRIGGER_EXPRESSION_CHARS = 4096;

/**
 * Evaluation steps one trigger expression may take. The API evaluates it for every delivery or
 * event, on the event loop every request shares: a tenth of a template's budget in a workflow
 * (`DEFAULT_MAX_EXPRESSION_STEPS`), enough to reshape a body, not to keep a core busy.
 */
export const TRIGGER_EXPRESSION_STEPS = 10_000;

/**
 * The problems of a trigger expression (JSONata, on `$body` for a webhook, `$event` for an event
 * trigger), located at `path`: too long, does not parse (or is refused by the definition
 * language's checks: `$eval`, nested repetition in a regular expression), holds `%}`, or reads
 * `$secret` (secrets are for steps, inside activities).
 */
export function triggerExpressionProblems(source: string, path: string): FieldError[] {
  if (source.trim() === '') return [{ path, message: 'is empty: leave it out instead' }];
  if (source.length > MAX_TRIGGER_EXPRESSION_CHARS) return [{ path, message: `is longer than ${MAX_TRIGGER_EXPRESSION_CHARS} characters` }];
  if (source.includes(TEMPLATE_CLOSE)) return [{ path, message: `holds "${TEMPLATE_CLOSE}", which JSONata has no use for: write the expression without {% %}` }];
  try {
    const compiled = parseExpression(source, path);
    if (expressionReferences(compiled.ast()).secrets.length > 0) {
      return [{ path, message: '$secret is not available here: secrets are read by steps, inside activities' }];
    }
  } catch (err) {
    return [{ path, message: err instanceof ExpressionError ? err.message : String(err) }];
  }
  return [];
}

/**
 * Evaluates a trigger expression with `bindings` (`{body}` or `{event}`), with the bounds of the
 * definition language (sequence length, nesting, string size) and {@link TRIGGER_EXPRESSION_STEPS}
 * steps. No result is `null`.
 * @throws ExpressionError saying what went wrong
 */
export async function evaluateTriggerExpression(source: string, bindings: Record<string, unknown>): Promise<unknown> {
  return evaluateTemplate(`${'{%'}${source}${TEMPLATE_CLOSE}`, bindings, { maxSteps: TRIGGER_EXPRESSION_STEPS });
}
