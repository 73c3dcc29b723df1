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

/**
 * How deep ordinary JavaScript calls may nest before evaluation switches to generators (see the
 * module comment). Deep enough that typical expressions never switch; shallow enough that the
 * JavaScript stack stays small (a few hundred frames) whatever the expression.
 */
export const PLAIN_CALL_DEPTH = 128;

/** The runtime the rewritten bundle relies on, placed inside the factory before the bundle. */
const PRELUDE = `
  // A generator object made by a generator function of this realm: what a driver runs.
  var __generatorPrototype = Object.getPrototypeOf(function* () {}).prototype;
  function __isAwaitable(value) {
    if (value === null || typeof value !== 'object') return false;
    var prototype = Object.getPrototypeOf(value);
    return prototype !== null && Object.getPrototypeOf(prototype) === __generatorPrototype;
  }
  var __step = __hooks.step;
  var __drive = __hooks.drive;
  var __plainDepth = ${PLAIN_CALL_DEPTH};
  // Calls of converted functions now running as plain JavaScript calls.
  var __depth = 0;
  // The value of the await being rewritten in generator mode (read at once, before anything else runs).
  var __v;
  // An awaited value in plain mode: a generator (made past the plain depth) is run to its end.
  function __resolve(value) {
    return __isAwaitable(value) ? __drive(value) : value;
  }
  // Promise.all in plain mode: the items are values or generators, run in turn.
  function __allPlain(items) {
    var results = [];
    for (var i = 0; i < items.length; i++) results.push(__resolve(items[i]));
    return results;
  }
  // Promise.all in generator mode: the driver runs each yielded generator in turn.
  function* __all(items) {
    var results = [];
    for (var i = 0; i < items.length; i++) {
      var item = items[i];
      results.push(__isAwaitable(item) ? yield item : item);
    }
    return results;
  }
`;

type Mode = 'plain' | 'generator';

/** A node whose text the rewrite replaces; `render` gives the replacement in a mode. */
interface Target {
  start: number;
  end: number;
  render(mode: Mode): string;
}

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

/**
 * Whether a function's own `this` and `arguments` are used in `body` (not those of a nested
 * ordinary function, which has its own; arrow functions share them).
 */
function ownReferences(body: Node): { usesThis: boolean; usesArguments: boolean } {
  let usesThis = false;
  let usesArguments = false;
  walk(body, (node, ancestors) => {
    if (ancestors.some((ancestor) => ancestor.type === 'FunctionDeclaration' || ancestor.type === 'FunctionExpression')) return;
    if (node.type === 'ThisExpression') usesThis = true;
    if (node.type === 'Identifier' && node.name === 'arguments') {
      const parent = ancestors[ancestors.length - 1];
      const isPropertyName =
        (parent?.type === 'MemberExpression' && parent.property === node && parent.computed !== true) ||
        (parent?.type === 'Property' && parent.key === node && parent.computed !== true && parent.shorthand !== true);
      if (!isPropertyName) usesArguments = true;
    }
  });
  return { usesThis, usesArguments };
}

function fail(message: string): never {
  throw new Error(`cannot generate the synchronous jsonata build: ${message}`);
}

/**
 * Rewrites jsonata's published bundle (`jsonata/jsonata.js`) into a CommonJS module exporting
 * `createJsonata(hooks)`, which builds a fresh jsonata that creates no promise.
 *
 * Every `async` function becomes three: a plain function with each `await x` replaced by "x,
 * or the end of x when x is a generator", a generator function with each `await x` replaced by
 * "yield x when x is a generator, else x", and a dispatcher under the original name that charges
 * one step (`hooks.step()`) and calls the plain version while fewer than {@link PLAIN_CALL_DEPTH}
 * plain calls are open, else returns the generator version's generator. Ordinary evaluation
 * therefore runs as ordinary function calls; past that depth (deep recursion in an expression)
 * evaluation continues as generators that `hooks.drive` runs on an explicit stack, so the
 * JavaScript stack never deepens with the expression. An async function whose body is only
 * `return await call(…)` becomes a plain function returning what the call returns.
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
  if (/\b__[pg]_\w/.test(source)) fail('the bundle already uses the __p_/__g_ prefixes this transform adds');
  const ast = acorn.parse(source, { ecmaVersion: 'latest', sourceType: 'script' }) as unknown as Node;
  const targets: Target[] = [];
  const replaced = new Set<string>();
  let decorations = 0;
  let sequencePushes = 0;
  const symbols: string[] = [];

  /** `source[start, end)` in `mode`, with every target inside it rewritten. */
  const render = (start: number, end: number, mode: Mode): string => {
    let output = '';
    let cursor = start;
    for (const target of targets) {
      if (target.start < cursor || target.start >= end) continue;
      if (target.end > end) fail(`a rewritten node at ${target.start} straddles ${end}`);
      output += source.slice(cursor, target.start) + target.render(mode);
      cursor = target.end;
    }
    return output + source.slice(cursor, end);
  };

  walk(ast, (node, ancestors) => {
    if (isFunction(node) && node.async === true) {
      targets.push(asyncFunctionTarget(node, source, render));
    } else if (node.type === 'AwaitExpression') {
      const argument = node.argument as Node;
      targets.push({
        start: node.start,
        end: node.end,
        render: (mode) => {
          const operand = render(argument.start, argument.end, mode);
          return mode === 'plain' ? `__resolve(${operand})` : `(__isAwaitable(__v = (${operand})) ? yield __v : __v)`;
        },
      });
    } else if (node.type === 'MemberExpression' && isIdentifier(node.object, 'Promise')) {
      if (!isIdentifier(node.property, 'all') || node.computed === true) fail(`unexpected use of Promise at ${node.start}`);
      if (!ancestors.some((ancestor) => isFunction(ancestor) && ancestor.async === true)) fail(`Promise.all outside an async function at ${node.start}`);
      targets.push({ start: node.start, end: node.end, render: (mode) => (mode === 'plain' ? '__allPlain' : '__all') });
    } else if (node.type === 'FunctionDeclaration' && isIdentifier(node.id, 'isPromise')) {
      // "Is this something to wait for?" now means "is this a generator a driver must run?".
      const parameter = singleParameter(node, 'isPromise');
      const body = node.body as Node;
      targets.push({ start: body.start, end: body.end, render: () => `{ return __isAwaitable(${parameter}); }` });
      replaced.add('isPromise');
    } else if (node.type === 'FunctionDeclaration' && isIdentifier(node.id, 'isIterable')) {
      // jsonata takes the first value of a native function's iterator result; the generators of
      // this build are not such results but work for a driver.
      const parameter = singleParameter(node, 'isIterable');
      const body = node.body as Node;
      targets.push({ start: body.start, end: body.start + 1, render: () => `{ if (__isAwaitable(${parameter})) { return false; }` });
      replaced.add('isIterable');
    } else if (node.type === 'CallExpression' && isSymbolFor(node)) {
      // Symbol.for("…") looks the registry up on every call (twice per evaluated node).
      const key = String(((node.arguments as Node[])[0] as Node).value);
      let index = symbols.indexOf(key);
      if (index < 0) index = symbols.push(key) - 1;
      targets.push({ start: node.start, end: node.end, render: () => `__symbol${index}` });
    } else if (isSequencePush(node)) {
      // With the `sequence` option, createSequence gives every sequence a closure of its own as
      // `push` (one allocation per sequence, most of what an evaluation allocates): the same
      // function, reading the sequence as `this`, made once per evaluation instead.
      const statement = [...ancestors].reverse().find(isCreateSequenceStatement);
      if (!statement) fail(`sequence.push outside createSequence at ${node.start}`);
      const push = node.right as Node;
      let text = '';
      let cursor = push.start;
      walk(push, (inner, innerAncestors) => {
        if (!isIdentifier(inner, 'sequence')) return;
        const parent = innerAncestors[innerAncestors.length - 1];
        if (parent?.type === 'MemberExpression' && parent.property === inner && parent.computed !== true) return;
        text += `${source.slice(cursor, inner.start)}this`;
        cursor = inner.end;
      });
      text += source.slice(cursor, push.end);
      targets.push({ start: statement.start, end: statement.start, render: () => `var __cappedPush = ${text};\n                ` });
      targets.push({ start: push.start, end: push.end, render: () => '__cappedPush' });
      sequencePushes++;
    } else if (isDecoration(node)) {
      // jsonata decorates a value it may not have made (an input array, a non-function it was
      // asked to call): skipped when the value cannot take it, as a frozen constant of a
      // template plan, which no evaluation may change (it is shared by every run of the worker).
      const target = ((node.expression as Node).left as Node).object as Node;
      targets.push({
        start: node.start,
        end: node.end,
        render: () => `if (Object.isExtensible(${String(target.name)})) { ${source.slice(node.start, node.end)} }`,
      });
      decorations++;
    } else if (
      node.type === 'AssignmentExpression' &&
      isModuleExports(node.left as Node) &&
      (isIdentifier(node.right, 'functions') || isIdentifier(node.right, 'dateTime'))
    ) {
      const right = node.right as Node;
      const name = String(right.name);
      targets.push({ start: right.start, end: right.end, render: () => `__hooks.builtins(${JSON.stringify(name)}, ${name})` });
      replaced.add(name);
    }
  });
  for (const expected of ['isPromise', 'isIterable', 'functions', 'dateTime']) {
    if (!replaced.has(expected)) fail(`did not find ${expected}`);
  }
  if (sequencePushes !== 1) fail(`found ${sequencePushes} sequence.push closures in createSequence, expected 1`);
  if (decorations !== DECORATIONS) fail(`found ${decorations} decorations of values, expected ${DECORATIONS}`);
  // Outermost first at each position: render() skips what an earlier target already covers.
  targets.sort((a, b) => a.start - b.start || b.end - a.end);

  const bundle = render(0, source.length, 'plain');
  const symbolConstants = symbols.map((key, index) => `  var __symbol${index} = Symbol.for(${JSON.stringify(key)});\n`).join('');
  const intrinsics = usedIntrinsics(ast);
  // Inside Temporal's workflow sandbox (a node:vm context) every global variable is looked up
  // through the context's interceptors, some thirty times slower than a local: the intrinsics the
  // bundle uses are bound once, as locals of the factory (what they are bound to is unchanged).
  const intrinsicBindings = intrinsics.length === 0 ? '' : `  var ${intrinsics.map((name) => `${name} = globalThis.${name}`).join(', ')};\n`;
  // The bundle is UMD; inside the factory it sees a private `module` and no `require` or `define`.
  const output = `${stamp}
/* eslint-disable */
// Generated by scripts/generate-sync-jsonata.ts from jsonata's published bundle (MIT licence,
// see node_modules/jsonata/LICENSE). Do not edit: edits are lost at the next install.
module.exports = function createJsonata(__hooks) {
${intrinsicBindings}${PRELUDE}${symbolConstants}
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

/**
 * `resultSequence.keepSingleton = …` (evaluatePath, `[]`), `proc.token/position = …`
 * (evaluateFunction) and `next.token/position = …` (the tail-call trampoline of apply).
 */
const DECORATED: Record<string, readonly string[]> = { resultSequence: ['keepSingleton'], proc: ['token', 'position'], next: ['token', 'position'] };
const DECORATIONS = 5;

function isDecoration(node: Node): boolean {
  if (node.type !== 'ExpressionStatement') return false;
  const expression = node.expression as Node;
  if (expression.type !== 'AssignmentExpression' || expression.operator !== '=') return false;
  const left = expression.left as Node;
  if (left.type !== 'MemberExpression' || left.computed === true) return false;
  const object = left.object as Node;
  const property = left.property as Node;
  if (object.type !== 'Identifier' || property.type !== 'Identifier' || !(DECORATED[String(object.name)]?.includes(String(property.name)) ?? false)) return false;
  walk(expression.right as Node, (inner) => {
    if (inner.type === 'AwaitExpression' || isFunction(inner)) fail(`unexpected decoration at ${node.start}`);
  });
  return true;
}

/**
 * ECMAScript intrinsics the bundle may bind as locals. Not those Temporal's workflow runtime
 * replaces per workflow (`Date`, `WeakRef`, `FinalizationRegistry`, timers): those are always
 * looked up where they are used.
 */
const INTRINSICS = [
  'Array', 'ArrayBuffer', 'BigInt', 'Boolean', 'Error', 'Function', 'Int32Array', 'JSON', 'Map', 'Math', 'Number', 'Object',
  'RangeError', 'Reflect', 'RegExp', 'Set', 'String', 'Symbol', 'SyntaxError', 'TypeError', 'Uint8Array', 'WeakMap', 'WeakSet',
  'decodeURI', 'decodeURIComponent', 'encodeURI', 'encodeURIComponent', 'isFinite', 'isNaN', 'parseFloat', 'parseInt',
] as const;

/** The {@link INTRINSICS} the bundle names as variables (not as property names). */
function usedIntrinsics(ast: Node): string[] {
  const used = new Set<string>();
  walk(ast, (node, ancestors) => {
    if (node.type !== 'Identifier') return;
    const parent = ancestors[ancestors.length - 1];
    if (parent?.type === 'MemberExpression' && parent.property === node && parent.computed !== true) return;
    if ((parent?.type === 'Property' || parent?.type === 'MethodDefinition') && parent.key === node && parent.computed !== true && parent.shorthand !== true) return;
    used.add(String(node.name));
  });
  // The prelude uses Object and Symbol itself.
  return INTRINSICS.filter((name) => used.has(name) || name === 'Object' || name === 'Symbol');
}

function isSymbolFor(node: Node): boolean {
  const callee = node.callee as Node;
  const args = node.arguments as Node[];
  return (
    callee.type === 'MemberExpression' &&
    callee.computed !== true &&
    isIdentifier(callee.object, 'Symbol') &&
    isIdentifier(callee.property, 'for') &&
    args.length === 1 &&
    args[0]!.type === 'Literal' &&
    typeof args[0]!.value === 'string'
  );
}

/** `sequence.push = function (…) {…}`, which jsonata's createSequence runs for every sequence. */
function isSequencePush(node: Node): boolean {
  if (node.type !== 'AssignmentExpression') return false;
  const left = node.left as Node;
  return (
    left.type === 'MemberExpression' &&
    left.computed !== true &&
    isIdentifier(left.object, 'sequence') &&
    isIdentifier(left.property, 'push') &&
    (node.right as Node).type === 'FunctionExpression'
  );
}

/** The statement `exec_env.createSequence = function () {…};`. */
function isCreateSequenceStatement(node: Node): boolean {
  if (node.type !== 'ExpressionStatement') return false;
  const expression = node.expression as Node;
  if (expression.type !== 'AssignmentExpression') return false;
  const left = expression.left as Node;
  return left.type === 'MemberExpression' && isIdentifier(left.object, 'exec_env') && isIdentifier(left.property, 'createSequence');
}

function singleParameter(node: Node, name: string): string {
  const params = node.params as Node[];
  if (params.length !== 1 || !isNode(params[0]) || params[0].type !== 'Identifier') fail(`unexpected ${name} signature`);
  return String(params[0].name);
}

/** The rewrite of one async function (see {@link generateSyncJsonata}). */
function asyncFunctionTarget(node: Node, source: string, render: (start: number, end: number, mode: Mode) => string): Target {
  if (node.generator === true) fail(`async generator at ${node.start}`);
  const body = node.body as Node;
  const params = node.params as Node[];
  const { usesThis, usesArguments } = ownReferences(body);
  if (node.type === 'ArrowFunctionExpression' && (usesThis || usesArguments)) fail(`async arrow function at ${node.start} uses this or arguments`);
  if (node.type === 'FunctionExpression' && node.id) fail(`named async function expression at ${node.start}`);
  const paramText = params.length === 0 ? '' : source.slice(params[0]!.start, params[params.length - 1]!.end);
  const forwarded = params.map((param, index) => {
    if (param.type === 'Identifier') return String(param.name);
    const argument = param.argument as Node | undefined;
    if (param.type === 'RestElement' && index === params.length - 1 && argument?.type === 'Identifier') return `...${String(argument.name)}`;
    return fail(`unsupported parameter at ${param.start}`);
  });
  const call = (callee: string): string =>
    usesArguments ? `${callee}.apply(this, arguments)` : usesThis || node.type === 'FunctionExpression' ? `${callee}.call(${['this', ...forwarded].join(', ')})` : `${callee}(${forwarded.join(', ')})`;
  const dispatch = (plain: string, generator: string): string =>
    `{ __step(); if (__depth >= __plainDepth) return ${call(generator)}; __depth++; try { return ${call(plain)}; } finally { __depth--; } }`;
  const bodyIn = (mode: Mode): string =>
    body.type === 'BlockStatement' ? render(body.start, body.end, mode) : `{ return (${render(body.start, body.end, mode)}); }`;

  // `async (…) => await call(…)` or `async function (…) { return await call(…); }`: the result of
  // the call, a value or a generator, is what the caller awaits either way.
  const tail = tailAwait(body);
  if (tail && node.type !== 'FunctionDeclaration') {
    return { start: node.start, end: node.end, render: () => `function (${paramText}) { return ${render(tail.start, tail.end, 'plain')}; }` };
  }
  if (node.type === 'FunctionDeclaration') {
    const name = String((node.id as Node).name);
    return {
      start: node.start,
      end: node.end,
      render: () =>
        `function ${name}(${paramText}) ${dispatch(`__p_${name}`, `__g_${name}`)}\n` +
        `    function __p_${name}(${paramText}) ${bodyIn('plain')}\n` +
        `    function* __g_${name}(${paramText}) ${bodyIn('generator')}`,
    };
  }
  return {
    start: node.start,
    end: node.end,
    render: () =>
      `(function (__p, __g) { return function (${paramText}) ${dispatch('__p', '__g')}; })(` +
      `function (${paramText}) ${bodyIn('plain')}, function* (${paramText}) ${bodyIn('generator')})`,
  };
}

/** The awaited call when `body` is only `await call(…)` or `{ return await call(…); }` with no other await in it. */
function tailAwait(body: Node): Node | undefined {
  let expression: Node | undefined = body;
  if (body.type === 'BlockStatement') {
    const statements = body.body as Node[];
    const only = statements.length === 1 ? statements[0] : undefined;
    expression = only?.type === 'ReturnStatement' ? (only.argument as Node | undefined) : undefined;
  }
  if (expression?.type !== 'AwaitExpression') return undefined;
  const argument = expression.argument as Node;
  if (argument.type !== 'CallExpression') return undefined;
  let nested = false;
  walk(argument, (inner) => {
    if (inner.type === 'AwaitExpression' || isFunction(inner) || isIdentifier(inner, 'Promise')) nested = true;
  });
  return nested ? undefined : argument;
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
