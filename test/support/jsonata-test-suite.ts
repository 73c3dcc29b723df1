import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { ExpressionLimits } from '../../definition/expression-budget';
import { WORKFLOW_EXPRESSION_LIMITS } from '../../definition/expression-limits';

/** One case of JSONata's official test suite (see its README for the format). */
export interface SuiteCase {
  group: string;
  file: string;
  index: number;
  expr: string;
  data: unknown;
  bindings: Record<string, unknown>;
  timelimit?: number;
  depth?: number;
  result?: unknown;
  undefinedResult?: boolean;
  code?: string;
  token?: string;
  error?: { code?: string };
}

const ROOT = path.resolve(__dirname, '../..');

/**
 * Where JSONata's v2.2.2 test suite is: `<repo root>/../shared/jsonata-test-suite`, else
 * `/work/shared/jsonata-test-suite`. Throws (never skips) when neither exists.
 */
export function jsonataSuiteDirectory(): string {
  const candidates = [path.resolve(ROOT, '../shared/jsonata-test-suite'), '/work/shared/jsonata-test-suite'];
  const found = candidates.find((candidate) => existsSync(path.join(candidate, 'groups')));
  if (!found) throw new Error(`JSONata's test suite was not found (looked in ${candidates.join(' and ')}); it is reference data kept beside the repository, not in it`);
  return found;
}

const readJson = (file: string): unknown => JSON.parse(readFileSync(file, 'utf8'));

/** Every case of the suite, in group and file order, with its input data resolved. */
export function loadJsonataSuite(directory = jsonataSuiteDirectory()): SuiteCase[] {
  const datasets = new Map<string, unknown>();
  for (const name of readdirSync(path.join(directory, 'datasets'))) {
    datasets.set(name.replace(/\.json$/, ''), readJson(path.join(directory, 'datasets', name)));
  }
  const cases: SuiteCase[] = [];
  for (const group of readdirSync(path.join(directory, 'groups')).sort()) {
    const groupDir = path.join(directory, 'groups', group);
    for (const file of readdirSync(groupDir).filter((name) => name.endsWith('.json')).sort()) {
      const spec = readJson(path.join(groupDir, file));
      const specs = (Array.isArray(spec) ? spec : [spec]) as Array<Record<string, unknown>>;
      specs.forEach((raw, index) => {
        const expr = typeof raw['expr-file'] === 'string' ? readFileSync(path.join(groupDir, raw['expr-file']), 'utf8') : String(raw.expr);
        let data: unknown;
        if ('data' in raw) data = raw.data;
        else if (raw.dataset === null || raw.dataset === undefined) data = undefined;
        else if (datasets.has(String(raw.dataset))) data = datasets.get(String(raw.dataset));
        else throw new Error(`${group}/${file}: unknown dataset ${String(raw.dataset)}`);
        cases.push({ ...(raw as Partial<SuiteCase>), group, file, index, expr, data, bindings: (raw.bindings ?? {}) as Record<string, unknown> } as SuiteCase);
      });
    }
  }
  return cases;
}

/** The suite's longest time limit: cases without one get the budgets it maps to. */
const DEFAULT_TIME_LIMIT_MS = 10_000;

/**
 * The budgets a case runs with. The suite bounds runaway cases by a time limit and a depth of
 * nested evaluations (jsonata's `__evaluate_entry` count, which is what `maxDepth` counts); the
 * engine counts work instead of time, so a time limit maps to the work a worker does in that time
 * here: 1,000 steps, 1,000 sequence items and 100 KB built per millisecond. Cases without a limit
 * get those of the suite's longest (10 s). The string limit is the workflow's.
 */
export function suiteLimits(testCase: SuiteCase): ExpressionLimits {
  const ms = testCase.timelimit ?? DEFAULT_TIME_LIMIT_MS;
  return {
    ...WORKFLOW_EXPRESSION_LIMITS,
    maxSteps: ms * 1_000,
    maxSequence: ms * 1_000,
    maxBytes: ms * 100_000,
    maxDepth: testCase.depth ?? WORKFLOW_EXPRESSION_LIMITS.maxDepth,
  };
}
