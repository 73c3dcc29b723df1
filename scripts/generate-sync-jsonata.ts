/**
 * Generates `definition/generated/jsonata-sync.js`, a synchronous build of the installed jsonata
 * (2.x) made from its own published bundle: every `async` function becomes a generator function,
 * every `await x` becomes `(yield x)`, and `Promise.all(xs)` becomes a generator that runs the
 * items one after another. A driver (`definition/expression-driver.ts`) runs the generators on an
 * explicit stack, so evaluation creates no promise at all, cannot overflow the JavaScript stack,
 * and can be metered step by step.
 *
 * Why: inside Temporal's workflow sandbox every promise costs a stack capture (the worker's
 * promise hook), which made jsonata 2.x 20–200× slower there than in plain Node and let deep
 * evaluations abort the worker.
 *
 * The transform works on acorn's syntax tree (positions of the nodes it rewrites), never on text
 * patterns, and checks its own output: the result must parse, and must hold no `async`, `await`
 * or `Promise` any more. The output is not committed (see .gitignore): `npm install` (postinstall),
 * `npm start`, `npm test`, `npm run bench` and the worker's workflow bundling call
 * {@link ensureSyncJsonata}, which rewrites it when it is missing or stale. Its first line stamps
 * the jsonata version and a hash of this file.
 *
 * Self-contained on purpose (Node built-ins and acorn only, both runtime dependencies): the
 * Dockerfile runs it during `npm ci --omit=dev`, before the rest of the source is copied.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as acorn from 'acorn';

type Node = acorn.Node & Record<string, unknown>;

/** Where the generated module is written, relative to the project root. */
export const SYNC_JSONATA_PATH = 'definition/generated/jsonata-sync.js';

const PROJECT_ROOT = path.resolve(__dirname, '..');

/** One replacement of the source range [start, end) (an insertion when start === end). */
interface Edit {
  start: number;
  end: number;
  text: string;
}

/** The runtime the rewritten bundle relies on, placed inside the factory before the bundle. */
const PRELUDE = `
  // A generator object made by a generator function of this realm: what the driver runs.
  var __generatorPrototype = Object.getPrototypeOf(function* () {}).prototype;
  function __isAwaitable(value) {
    if (value === null || typeof value !== 'object') return false;
    var prototype = Object.getPrototypeOf(value);
    return prototype !== null && Object.getPrototypeOf(prototype) === __generatorPrototype;
  }
  // Promise.all over generators: run each in turn (the driver runs what is yielded).
  function* __all(items) {
    var results = [];
    for (var i = 0; i < items.length; i++) {
      var item = items[i];
      results.push(__isAwaitable(item) ? yield item : item);
    }
    return results;
  }
`;

function walk(node: Node, visit: (node: Node, ancestors: readonly Node[]) => void, ancestors: Node[] = []): void {
  visit(node, ancestors);
  ancestors.push(node);
  for (const key of Object.keys(node)) {
    if (key === 'type' || key === 'start' || key === 'end' || key === 'loc' || key === 'range') continue;
    const value = node[key];
    if (Array.isArray(value)) {
      for (const child of value) if (isNode(child)) walk(child, visit, ancestors);
    } else if (isNode(value)) {
      walk(value, visit, ancestors);
    }
  }
  ancestors.pop();
}

function isNode(value: unknown): value is Node {
  return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string';
}

function isFunction(node: Node): boolean {
  return node.type === 'FunctionDeclaration' || node.type === 'FunctionExpression' || node.type === 'ArrowFunctionExpression';
}

/** True when `node` (an arrow function's body) uses `this` or `arguments` of the enclosing function. */
function usesEnclosingThis(body: Node): boolean {
  let found = false;
  walk(body, (node, ancestors) => {
    const insideOwnFunction = ancestors.some((ancestor) => ancestor.type === 'FunctionDeclaration' || ancestor.type === 'FunctionExpression');
    if (insideOwnFunction) return;
    if (node.type === 'ThisExpression' || (node.type === 'Identifier' && node.name === 'arguments')) found = true;
  });
  return found;
}

function fail(message: string): never {
  throw new Error(`cannot generate the synchronous jsonata build: ${message}`);
}

function applyEdits(source: string, edits: Edit[]): string {
  // Later edits first so earlier positions stay valid; at one position, the edit made last goes first.
  const ordered = edits.map((edit, order) => ({ ...edit, order })).sort((a, b) => b.start - a.start || b.end - a.end || a.order - b.order);
  let output = source;
  let limit = Infinity;
  for (const edit of ordered) {
    if (edit.end > limit) fail(`overlapping edits at ${edit.start}`);
    output = output.slice(0, edit.start) + edit.text + output.slice(edit.end);
    limit = edit.start;
  }
  return output;
}

/**
 * Rewrites jsonata's published bundle (`jsonata/jsonata.js`) into a CommonJS module exporting
 * `createJsonata(hooks)`, which builds a fresh synchronous jsonata whose functions are generators.
 *
 * `hooks.builtins(name, exports)` receives the exports of jsonata's `functions` and `datetime`
 * modules before anything binds them, and returns what the evaluator uses instead (see
 * `definition/builtin-guards.ts`): the one seam through which every built-in function call, and
 * every internal call to a built-in (`&` stringifies with `functions.string`, `^()` sorts with
 * `functions.sort`), passes.
 *
 * @throws {Error} when the bundle has a shape this transform does not know (a new jsonata
 * version): the generation fails loudly rather than producing a subtly wrong evaluator.
 */
export function generateSyncJsonata(source: string, stamp: string): string {
  const ast = acorn.parse(source, { ecmaVersion: 'latest', sourceType: 'script' }) as unknown as Node;
  const edits: Edit[] = [];
  const replaced = new Set<string>();

  walk(ast, (node) => {
    if (isFunction(node) && node.async === true) {
      const body = node.body as Node;
      if (node.generator === true) fail(`async generator at ${node.start}`);
      if (node.type === 'ArrowFunctionExpression') {
        if (usesEnclosingThis(body)) fail(`async arrow function at ${node.start} uses this or arguments`);
        const params = node.params as Node[];
        const paramText = params.length === 0 ? '' : source.slice(params[0]!.start, params[params.length - 1]!.end);
        const expressionBody = body.type !== 'BlockStatement';
        edits.push({ start: node.start, end: body.start, text: `function* (${paramText}) ${expressionBody ? '{ return (' : ''}` });
        if (expressionBody) edits.push({ start: body.end, end: body.end, text: '); }' });
      } else {
        // `async function name(` → `function* name(`: only the two keywords are rewritten.
        const header = /^async\s+function\b/.exec(source.slice(node.start, body.start));
        if (!header) fail(`unexpected async function header at ${node.start}`);
        edits.push({ start: node.start, end: node.start + header[0].length, text: 'function*' });
      }
    } else if (node.type === 'AwaitExpression') {
      const argument = node.argument as Node;
      edits.push({ start: node.start, end: argument.start, text: '(yield ' });
      edits.push({ start: node.end, end: node.end, text: ')' });
    } else if (node.type === 'MemberExpression' && isIdentifier(node.object, 'Promise')) {
      if (!isIdentifier(node.property, 'all') || node.computed === true) fail(`unexpected use of Promise at ${node.start}`);
      edits.push({ start: node.start, end: node.end, text: '__all' });
    } else if (node.type === 'FunctionDeclaration' && isIdentifier(node.id, 'isPromise')) {
      // "Is this something to wait for?" now means "is this a generator the driver must run?".
      const params = node.params as Node[];
      if (params.length !== 1 || !isNode(params[0]) || params[0].type !== 'Identifier') fail('unexpected isPromise signature');
      const body = node.body as Node;
      edits.push({ start: body.start, end: body.end, text: `{ return __isAwaitable(${String(params[0].name)}); }` });
      replaced.add('isPromise');
    } else if (node.type === 'FunctionDeclaration' && isIdentifier(node.id, 'isIterable')) {
      // jsonata takes the first value of a native function's iterator result; the generators of
      // this build are not such results but work for the driver.
      const params = node.params as Node[];
      if (params.length !== 1 || !isNode(params[0]) || params[0].type !== 'Identifier') fail('unexpected isIterable signature');
      const body = node.body as Node;
      edits.push({ start: body.start + 1, end: body.start + 1, text: ` if (__isAwaitable(${String(params[0].name)})) { return false; }` });
      replaced.add('isIterable');
    } else if (
      node.type === 'AssignmentExpression' &&
      isModuleExports(node.left as Node) &&
      (isIdentifier(node.right, 'functions') || isIdentifier(node.right, 'dateTime'))
    ) {
      const right = node.right as Node;
      const name = String(right.name);
      edits.push({ start: right.start, end: right.end, text: `__hooks.builtins(${JSON.stringify(name)}, ${name})` });
      replaced.add(name);
    }
  });
  for (const expected of ['isPromise', 'isIterable', 'functions', 'dateTime']) {
    if (!replaced.has(expected)) fail(`did not find ${expected}`);
  }

  const bundle = applyEdits(source, edits);
  // The bundle is UMD; inside the factory it sees a private `module` and no `require` or `define`.
  const output = `${stamp}
/* eslint-disable */
// Generated by scripts/generate-sync-jsonata.ts from jsonata's published bundle (MIT licence,
// see node_modules/jsonata/LICENSE). Do not edit: edits are lost at the next install.
module.exports = function createJsonata(__hooks) {
${PRELUDE}
  var __module = { exports: {} };
  (function (module, exports, require, define) {
${bundle}
  })(__module, __module.exports, undefined, undefined);
  return __module.exports;
};
`;
  checkOutput(output);
  return output;
}

function isIdentifier(node: unknown, name: string): boolean {
  return isNode(node) && node.type === 'Identifier' && node.name === name;
}

function isModuleExports(node: Node): boolean {
  return node.type === 'MemberExpression' && isIdentifier(node.object, 'module') && isIdentifier(node.property, 'exports');
}

function checkOutput(output: string): void {
  const ast = acorn.parse(output, { ecmaVersion: 'latest', sourceType: 'script' }) as unknown as Node;
  walk(ast, (node) => {
    if (isFunction(node) && node.async === true) fail(`an async function is left at ${node.start}`);
    if (node.type === 'AwaitExpression') fail(`an await is left at ${node.start}`);
    if (isIdentifier(node, 'Promise')) fail(`a Promise is left at ${node.start}`);
  });
}

/** The stamp line: the jsonata version it was made from and a hash of this generator. */
export function syncJsonataStamp(): string {
  const jsonataPackage = JSON.parse(readFileSync(require.resolve('jsonata/package.json'), 'utf8')) as { version: string };
  const generatorHash = createHash('sha256').update(readFileSync(__filename)).digest('hex').slice(0, 16);
  return `// jsonata-sync: jsonata ${jsonataPackage.version}, generator ${generatorHash}`;
}

/**
 * Writes the synchronous jsonata build unless an up-to-date one is there (same stamp).
 * @returns the absolute path and whether it was (re)generated.
 */
export function ensureSyncJsonata(root = PROJECT_ROOT): { path: string; generated: boolean } {
  const target = path.join(root, SYNC_JSONATA_PATH);
  const stamp = syncJsonataStamp();
  let current: string | undefined;
  try {
    current = readFileSync(target, 'utf8');
  } catch {
    current = undefined;
  }
  if (current !== undefined && current.slice(0, current.indexOf('\n')) === stamp) return { path: target, generated: false };
  const source = readFileSync(require.resolve('jsonata/jsonata.js'), 'utf8');
  const output = generateSyncJsonata(source, stamp);
  mkdirSync(path.dirname(target), { recursive: true });
  // Written aside then renamed, so a concurrent reader never sees half a file.
  const temporary = `${target}.${process.pid}.tmp`;
  writeFileSync(temporary, output);
  renameSync(temporary, target);
  return { path: target, generated: true };
}

if (require.main === module) {
  const { path: written, generated } = ensureSyncJsonata();
  console.log(`${generated ? 'generated' : 'up to date:'} ${path.relative(process.cwd(), written)}`);
}
