import type { Definition } from '../../definition/definition-schema';
import type { DefinitionError } from '../../definition/definition-validator';
import { walkSteps } from '../../definition/definition-walk';
import { pointerJoin } from '../../definition/json-pointer';
import { CodeSandbox } from './code-sandbox';

// Parsing needs no limits of the deployment's: it compiles and runs nothing.
const parser = new CodeSandbox();

/**
 * The syntax errors of a definition's code steps (in `map` inline graphs too), each at the JSON
 * pointer of the step's `source` with the line and column in the source. QuickJS compiles each
 * source without running it; this is the API's side of the check, as the validator in
 * `definition/` must stay pure.
 */
export async function codeSyntaxErrors(definition: Definition): Promise<DefinitionError[]> {
  const errors: DefinitionError[] = [];
  for (const { step, pointer } of walkSteps(definition.steps)) {
    if (step.type !== 'code') continue;
    const problem = await parser.syntaxError(step.source);
    if (!problem) continue;
    const column = problem.column === undefined ? '' : `, column ${problem.column}`;
    errors.push({ path: pointerJoin(pointer, 'source'), message: `JavaScript syntax error at line ${problem.line}${column}: ${problem.message}` });
  }
  return errors;
}
