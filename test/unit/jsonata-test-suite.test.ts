import { isDeepStrictEqual } from 'node:util';
import { BudgetExceeded } from '../../definition/expression-budget';
import { compileSync, evaluateSync } from '../../definition/expression-engine';
import { loadJsonataSuite, suiteLimits, type SuiteCase } from '../support/jsonata-test-suite';

/**
 * JSONata's own v2.2.2 test suite (1,686 cases) against exactly the engine the workflow uses: the
 * synchronous build, RE2 regexes, the guarded built-ins and the budgets (mapped from each case's
 * `timelimit` and `depth`, see suiteLimits).
 */
const cases = loadJsonataSuite();

type Outcome = { result: unknown } | { error: { code?: string; token?: string; message?: string } };

function run(testCase: SuiteCase): Outcome {
  const limits = suiteLimits(testCase);
  try {
    return { result: evaluateSync(compileSync(testCase.expr, limits), testCase.data, testCase.bindings, limits) };
  } catch (error) {
    return { error: error as { code?: string } };
  }
}

/** The suite expects U1001 from its time box (too deep or too long): the engine's own limits. */
function codeOf(error: unknown): string | undefined {
  if (error instanceof BudgetExceeded && error.limit === 'steps') return 'U1001';
  const code = (error as { code?: string }).code;
  return code === 'D1011' ? 'U1001' : code;
}

// JSON has no undefined or -0: compare as the suite's JSON files do.
const asJson = (value: unknown): unknown => (value === undefined ? undefined : JSON.parse(JSON.stringify(value)));

describe('the JSONata 2.2.2 test suite on the workflow engine', () => {
  it('has all 1,686 cases', () => {
    expect(cases).toHaveLength(1686);
  });

  for (const testCase of cases) {
    it(`${testCase.group}/${testCase.file}#${testCase.index}: ${testCase.expr.slice(0, 80)}`, () => {
      const outcome = run(testCase);
      if ('undefinedResult' in testCase) {
        expect(outcome).toEqual({ result: undefined });
      } else if ('result' in testCase) {
        if ('error' in outcome) throw new Error(`unexpected error ${outcome.error.code ?? ''}: ${outcome.error.message ?? String(outcome.error)}`);
        expect(isDeepStrictEqual(asJson(outcome.result), testCase.result) ? testCase.result : asJson(outcome.result)).toEqual(testCase.result);
      } else {
        const expected = testCase.code ?? testCase.error?.code;
        if (!('error' in outcome)) throw new Error(`expected error ${expected}, got ${JSON.stringify(outcome.result)}`);
        expect(codeOf(outcome.error)).toBe(expected);
        if (testCase.token !== undefined) expect(outcome.error.token).toBe(testCase.token);
      }
    });
  }
});
