import { evaluateTemplateSync } from '../definition/template-plan';
import { EXPRESSION_CASES, benchBindings, evaluateWithJsonata, type ExpressionCase } from './expression-cases';

/** What {@link expressionBench} evaluates with: Trellis's engine, jsonata 2.2.2 as it is, or nothing. */
export type BenchEngine = 'trellis' | 'jsonata' | 'none';

/**
 * Evaluates one benchmark expression `iterations` times in a single workflow activation and
 * returns the last result (as JSON). With `none` it builds the same bindings and evaluates
 * nothing: the baseline subtracted from the others, since nothing can be timed inside the
 * sandbox (its clock stands still during an activation).
 */
export async function expressionBench(engine: BenchEngine, name: ExpressionCase, iterations: number): Promise<unknown> {
  const template: unknown = EXPRESSION_CASES[name];
  const bindings = benchBindings();
  let result: unknown = null;
  for (let i = 0; i < iterations; i++) {
    if (engine === 'trellis') result = evaluateTemplateSync(template, bindings);
    else if (engine === 'jsonata') result = await evaluateWithJsonata(template, bindings);
  }
  return result ?? null;
}
