import jsonata from 'jsonata';
import { ExpressionError } from './expression-error';
import { astNodes, expressionReferences, type AstNode } from './expression-references';
import { compileSync, type SyncExpression } from './expression-engine';
import { pointerJoin } from './json-pointer';
import { compileRe2 } from './re2-regexp';
import { WORKFLOW_EXPRESSION_LIMITS } from './expression-limits';

export { ExpressionError } from './expression-error';
export {
  expressionReferences,
  SECRET_NAME_PATTERN,
  type ExpressionReferences,
  type SecretUse,
  type StepReference,
} from './expression-references';

/** Opening delimiter of an expression inside a string (as in AWS Step Functions). */
export const TEMPLATE_OPEN = '{%';
/** Closing delimiter of an expression inside a string. */
export const TEMPLATE_CLOSE = '%}';

/**
 * Longest sequence (array) an expression may build in the legacy evaluator, including ranges such
 * as `[1..n]`. Checked by JSONata before it allocates.
 */
export const MAX_SEQUENCE_LENGTH = 100_000;

/**
 * Deepest nesting of evaluations an expression may reach (JSONata's `stack` guard). Non-tail
 * recursion deepens it on every call; without a bound it overflows the worker thread's stack,
 * which inside Temporal's workflow sandbox kills the whole worker process.
 */
export const MAX_EVALUATION_DEPTH = 250;

/** A literal run of text or an expression body, in the order they appear in a string. */
export type TemplatePart = { kind: 'text'; text: string } | { kind: 'expression'; source: string };

/** Where an expression sits in a JSON value. */
export interface ExpressionLocation {
  /** JSON pointer of the string holding the expression, relative to the walked value. */
  pointer: string;
  /** The expression body between the delimiters, untrimmed. */
  source: string;
  /** True when `{%` has no closing `%}`; `source` is then the rest of the string. */
  unterminated?: boolean;
}

interface TemplateScan {
  parts: TemplatePart[];
  /** Index of a `{%` that is never closed. */
  unterminatedAt?: number;
}

function scanTemplate(text: string): TemplateScan {
  const parts: TemplatePart[] = [];
  let cursor = 0;
  while (cursor < text.length) {
    const open = text.indexOf(TEMPLATE_OPEN, cursor);
    if (open < 0) break;
    // The first "%}" closes the expression; JSONata has no use for that pair of characters.
    const close = text.indexOf(TEMPLATE_CLOSE, open + TEMPLATE_OPEN.length);
    if (close < 0) {
      if (open > cursor) parts.push({ kind: 'text', text: text.slice(cursor, open) });
      return { parts, unterminatedAt: open };
    }
    if (open > cursor) parts.push({ kind: 'text', text: text.slice(cursor, open) });
    parts.push({ kind: 'expression', source: text.slice(open + TEMPLATE_OPEN.length, close) });
    cursor = close + TEMPLATE_CLOSE.length;
  }
  if (cursor < text.length) parts.push({ kind: 'text', text: text.slice(cursor) });
  return { parts };
}

/**
 * Splits a string into literal text and expression bodies.
 *
 * @throws {ExpressionError} when a `{%` is never closed by `%}`.
 * @example
 * ```ts
 * splitTemplate('id-{% $input.id %}');
 * // [{ kind: 'text', text: 'id-' }, { kind: 'expression', source: ' $input.id ' }]
 * ```
 */
export function splitTemplate(text: string): TemplatePart[] {
  const scan = scanTemplate(text);
  if (scan.unterminatedAt !== undefined) {
    throw new ExpressionError(`"{%" at character ${scan.unterminatedAt} has no closing "%}"`);
  }
  return scan.parts;
}

/**
 * Returns the expression body when the whole string is one `{% … %}` (whitespace around the
 * delimiters is ignored, so YAML block scalars with a trailing newline qualify), else `undefined`.
 */
export function wholeExpression(text: string): string | undefined {
  const trimmed = text.trim();
  if (!trimmed.startsWith(TEMPLATE_OPEN) || !trimmed.endsWith(TEMPLATE_CLOSE)) return undefined;
  const scan = scanTemplate(trimmed);
  const [only] = scan.parts;
  return scan.parts.length === 1 && only?.kind === 'expression' ? only.source : undefined;
}

/** True when `value` is a string holding at least one `{%` expression (closed or not). */
export function isTemplate(value: unknown): value is string {
  return typeof value === 'string' && value.includes(TEMPLATE_OPEN);
}

/**
 * Lists every expression in a JSON value: strings anywhere in objects and arrays, each with the
 * JSON pointer of the string holding it. Object keys are never templated.
 *
 * @param pointer prefix for the reported pointers, e.g. `"/steps/charge/body"`.
 * @default pointer ""
 */
export function findExpressions(value: unknown, pointer = ''): ExpressionLocation[] {
  const found: ExpressionLocation[] = [];
  const visit = (node: unknown, at: string): void => {
    if (typeof node === 'string') {
      if (!node.includes(TEMPLATE_OPEN)) return;
      const scan = scanTemplate(node);
      for (const part of scan.parts) {
        if (part.kind === 'expression') found.push({ pointer: at, source: part.source });
      }
      if (scan.unterminatedAt !== undefined) {
        found.push({ pointer: at, source: node.slice(scan.unterminatedAt + TEMPLATE_OPEN.length), unterminated: true });
      }
    } else if (Array.isArray(node)) {
      node.forEach((item, index) => visit(item, pointerJoin(at, index)));
    } else if (node !== null && typeof node === 'object') {
      for (const [key, item] of Object.entries(node)) visit(item, pointerJoin(at, key));
    }
  };
  visit(value, pointer);
  return found;
}

/**
 * Refuses what no expression may be, whichever engine runs it: an empty one, and any use of
 * `$eval`, which would compile text at run time past every check made here and by the validator.
 *
 * @throws {ExpressionError} naming the expression and the reason.
 */
export function checkExpression(source: string, pointer?: string, ast?: jsonata.ExprNode): void {
  if (source.trim() === '') throw new ExpressionError('empty expression "{% %}"', pointer, source);
  if (!ast) return;
  if (astNodes(ast).some((node) => node.type === 'variable' && node.value === 'eval')) {
    throw new ExpressionError(
      `${quoteSource(source)}: $eval is not available: it would evaluate text that is never checked ` +
        '(step references, secrets, regular expressions); write the expression itself',
      pointer,
      source,
    );
  }
}

function syntaxError(source: string, pointer: string | undefined, error: unknown): ExpressionError {
  const position = (error as { position?: unknown }).position;
  const where = typeof position === 'number' ? ` at character ${position}` : '';
  return new ExpressionError(`${quoteSource(source)}: syntax error${where}: ${jsonataMessage(error)}`, pointer, source);
}

/**
 * Parses an expression body as the workflow's engine does (jsonata 2.x, see
 * `expression-engine.ts`) and checks it before anything runs: no `$eval`, and every regular
 * expression literal compiles with RE2 (linear-time matching; no backreferences or lookaround).
 *
 * @throws {ExpressionError} naming the expression, the character position and the reason.
 */
export function parseExpression(source: string, pointer?: string): SyncExpression {
  checkExpression(source, pointer);
  let compiled: SyncExpression;
  try {
    compiled = compileSync(source, WORKFLOW_EXPRESSION_LIMITS);
  } catch (error) {
    throw syntaxError(source, pointer, error);
  }
  const ast = compiled.ast();
  checkExpression(source, pointer, ast);
  for (const regex of astNodes(ast).filter(isRegexNode)) {
    try {
      compileRe2(regex.value.source, regex.value.flags);
    } catch (error) {
      throw new ExpressionError(
        `${quoteSource(source)}: the regular expression /${regex.value.source}/ cannot be used: ${jsonataMessage(error)} ` +
          '(regular expressions have RE2 semantics: linear time, no backreferences or lookaround)',
        pointer,
        source,
      );
    }
  }
  return compiled;
}

/**
 * Compiles an expression body with the npm jsonata 2.2.2 (asynchronous) engine, bounded to
 * {@link MAX_SEQUENCE_LENGTH} items per sequence and {@link MAX_EVALUATION_DEPTH} nested
 * evaluations: the evaluator of runs started before `trellis-sync-expressions`, kept as it was so
 * that they replay exactly.
 *
 * @throws {ExpressionError} naming the expression, the character position and JSONata's reason.
 */
export function parseLegacyExpression(source: string, pointer?: string): jsonata.Expression {
  checkExpression(source, pointer);
  let compiled: jsonata.Expression;
  try {
    compiled = jsonata(source, { sequence: MAX_SEQUENCE_LENGTH, stack: MAX_EVALUATION_DEPTH });
  } catch (error) {
    throw syntaxError(source, pointer, error);
  }
  checkExpression(source, pointer, compiled.ast());
  return compiled;
}

/**
 * Step ids an expression reads as `$steps.<id>` (also `$steps."id-with-dash"` and
 * `` $steps.`id` ``), in order of first appearance. Dynamic access such as
 * `$lookup($steps, $name)` cannot be resolved and is not reported. An expression that does not
 * parse references nothing.
 */
export function referencedSteps(source: string): string[] {
  const ast = tryParse(source);
  return ast ? [...new Set(expressionReferences(ast).steps.map((reference) => reference.id))] : [];
}

/**
 * Secret names an expression reads as `$secret('NAME')` (a string literal argument), in order of
 * first appearance. Other uses of `$secret` (a computed name, `$f := $secret`) name nothing here;
 * `validateDefinition` refuses them. An expression that does not parse references nothing.
 *
 * @example
 * ```ts
 * referencedSecrets(" 'Bearer ' & $secret('PAY_TOKEN') "); // ['PAY_TOKEN']
 * ```
 */
export function referencedSecrets(source: string): string[] {
  const ast = tryParse(source);
  if (!ast) return [];
  return [...new Set(expressionReferences(ast).secrets.flatMap((use) => (use.name === undefined ? [] : [use.name])))];
}

function tryParse(source: string): jsonata.ExprNode | undefined {
  try {
    return jsonata(source).ast();
  } catch {
    return undefined;
  }
}

/** Quotes an expression body for an error message, shortened when long. */
export function quoteSource(source: string): string {
  const trimmed = source.trim();
  return JSON.stringify(trimmed.length > 120 ? `${trimmed.slice(0, 117)}...` : trimmed);
}

/** The human message of a JSONata error (a plain object with `code` and `message`) or any error. */
export function jsonataMessage(error: unknown): string {
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === 'string' && message !== '' ? message : String(error);
}

function isRegexNode(node: AstNode): node is AstNode & { value: RegExp } {
  // The typings call this node type "regexp"; the parser emits "regex".
  return (node.type as string) === 'regex' && node.value instanceof RegExp;
}
