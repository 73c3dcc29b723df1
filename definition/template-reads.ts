import { astNodes, expressionReferences } from './expression-references';
import { findExpressions, parseExpression } from './expression';

/** What the templates of a value read of a run: which `$steps.<id>`, and whether `$input`. */
export type TemplateReads = {
  /** Step ids read as `$steps.<id>…`. */
  steps: ReadonlySet<string>;
  /**
   * True when some template reads `$steps` otherwise than as `$steps.<id>` (`$keys($steps)`,
   * `$lookup($steps, $name)`, `$steps[…]`, a rebound `$steps`), or does not parse: then any step
   * may be read.
   */
  anyStep: boolean;
  /** Whether some template reads `$input`. */
  input: boolean;
};

/**
 * Finds what the templates anywhere in `value` (a step, a `map` step's `do`…) read, so that only
 * that is handed to where they are evaluated (a `map` step's batch workflows).
 */
export function templateReads(value: unknown): TemplateReads {
  const steps = new Set<string>();
  let anyStep = false;
  let input = false;
  for (const { source } of findExpressions(value)) {
    let references: ReturnType<typeof expressionReferences>;
    let stepVariables: number;
    try {
      const ast = parseExpression(source).ast();
      references = expressionReferences(ast);
      stepVariables = astNodes(ast).filter((node) => node.type === 'variable' && node.value === 'steps').length;
    } catch {
      return { steps, anyStep: true, input: true };
    }
    for (const reference of references.steps) steps.add(reference.id);
    // Each `$steps.<id>` path has one `$steps` variable as its head; any other is dynamic access.
    if (stepVariables > references.steps.length || references.bound.has('steps')) anyStep = true;
    if (references.variables.has('input')) input = true;
  }
  return { steps, anyStep, input };
}
