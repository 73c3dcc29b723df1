import { LineCounter, isScalar, parseDocument, visit, type Document } from 'yaml';
import { MAX_JSON_DEPTH } from '../../definition/storable-json';
import { DocumentSyntaxError, type DocumentFormat, type TextPosition } from './document-syntax-error';
import { measureYaml } from './yaml-shape';

/** What {@link parseDocumentText} accepts beyond the syntax. */
export type DocumentTextOptions = {
  /**
   * Longest YAML text parsed, in characters; a longer one is refused before parsing. The YAML
   * parser takes about a second per few hundred KiB of dense input (and recurses on nesting), so
   * texts from the network are kept near the size of what they may hold. JSON texts, parsed by
   * `JSON.parse`, have no such limit. @default no limit
   */
  maxYamlLength?: number;
  /**
   * Most tokens (scalars, indicators, brackets; see `measureYaml`) a YAML text may hold; a
   * denser one is refused before parsing, with the advice to send it as JSON. @default no limit
   */
  maxYamlTokens?: number;
};

/**
 * Deepest nesting a YAML text may show before it is parsed: twice the depth a JSON value may have
 * (the estimate can count a level twice), and well within what the parser's recursion survives.
 * The parsed value's own depth is then checked exactly, where it is used.
 */
export const MAX_YAML_NESTING = 2 * MAX_JSON_DEPTH;

// What the YAML parser reports when a document nests deeper than its stack allows.
const STACK_OVERFLOW = /Maximum call stack size exceeded/;
const TOO_DEEP = `the document nests too deeply: JSON values may nest ${MAX_JSON_DEPTH} levels`;

// Wider lines (a minified JSON file) are shown as a window around the column.
const EXCERPT_RADIUS = 60;

/**
 * Parses a JSON or YAML text into plain JSON values (objects, arrays, strings, finite numbers,
 * booleans, null).
 *
 * - `'JSON'`: `JSON.parse` only, so JSON files keep JSON's own error messages.
 * - `'YAML'`: YAML 1.2 (core schema; JSON is a subset). Besides syntax errors, duplicate keys,
 *   several documents in one text, aliases without an anchor and `.inf`/`.nan` (which JSON
 *   cannot hold) are errors.
 * - absent (the default): JSON when the text parses as JSON, else YAML. A text that starts like
 *   JSON (`{` or `[`) and is neither reports JSON's error, since its author most likely wrote JSON.
 *
 * An empty YAML text is `null`.
 * @throws DocumentSyntaxError with the line and column of the first problem, when known; also for
 * a YAML text longer than `options.maxYamlLength` or nested deeper than the parser can follow
 * @example
 * parseDocumentText('name: order\nsteps: {}\n'); // { name: 'order', steps: {} }
 */
export function parseDocumentText(text: string, format?: DocumentFormat, options: DocumentTextOptions = {}): unknown {
  if (format === 'JSON') return parseJson(text);
  if (format === 'YAML') return parseYaml(text, options);
  try {
    return parseJson(text);
  } catch (jsonError) {
    try {
      return parseYaml(text, options);
    } catch (yamlError) {
      throw /^\uFEFF?\s*[{[]/.test(text) ? jsonError : yamlError;
    }
  }
}

/**
 * The format a file's name implies: `JSON` for `.json`, `YAML` for `.yaml`/`.yml` (any case),
 * undefined (either, see {@link parseDocumentText}) for anything else.
 */
export function documentFormatOfFile(file: string): DocumentFormat | undefined {
  if (/\.json$/i.test(file)) return 'JSON';
  if (/\.ya?ml$/i.test(file)) return 'YAML';
  return undefined;
}

function parseJson(text: string): unknown {
  const source = text.replace(/^\uFEFF/, '');
  try {
    return JSON.parse(source) as unknown;
  } catch (err) {
    const message = (err as Error).message;
    // V8 says where only as "at position N" (or not at all), and at the end for truncated input.
    const at = /^(.*?) in JSON at position (\d+)/.exec(message);
    const offset = at ? Number(at[2]) : /^Unexpected end of JSON input/.test(message) ? source.length : undefined;
    const reason = at ? at[1]! : message;
    if (offset === undefined) throw new DocumentSyntaxError('JSON', reason);
    const position = positionOf(source, offset);
    throw new DocumentSyntaxError('JSON', reason, position, excerptAt(source, position));
  }
}

function parseYaml(text: string, options: DocumentTextOptions): unknown {
  const limit = options.maxYamlLength;
  if (limit !== undefined && text.length > limit) {
    throw new DocumentSyntaxError('YAML', `the YAML text is ${text.length} characters long; the limit is ${limit}`);
  }
  const shape = measureYaml(text);
  if (shape.nesting > MAX_YAML_NESTING) throw new DocumentSyntaxError('YAML', TOO_DEEP);
  if (options.maxYamlTokens !== undefined && shape.tokens > options.maxYamlTokens) {
    throw new DocumentSyntaxError('YAML', `the YAML text holds about ${shape.tokens} tokens; the limit is ${options.maxYamlTokens}: send a document this large as JSON`);
  }
  const lineCounter = new LineCounter();
  // Duplicate keys are found by findNonJsonNode: the parser's own check is quadratic in the keys
  // of a mapping (20,000 keys took 15 s).
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false });
  const located = (reason: string, offset: number): DocumentSyntaxError => {
    const { line, col } = lineCounter.linePos(offset);
    const position = { line, column: col };
    return new DocumentSyntaxError('YAML', reason, position, excerptAt(text, position));
  };
  const [first] = doc.errors;
  if (first) {
    const reason = first.code === 'MULTIPLE_DOCS' ? 'a "---" line starts a second document; the text must hold one' : STACK_OVERFLOW.test(first.message) ? TOO_DEEP : first.message;
    throw located(reason, first.pos[0]);
  }
  try {
    const problem = findNonJsonNode(doc);
    if (problem) throw located(problem.reason, problem.offset);
    return doc.toJS();
  } catch (err) {
    if (err instanceof DocumentSyntaxError) throw err;
    // Left for toJS: an alias expanding too much (the "billion laughs" guard), with no position.
    throw new DocumentSyntaxError('YAML', err instanceof RangeError && STACK_OVERFLOW.test(err.message) ? TOO_DEEP : (err as Error).message);
  }
}

/** The first node YAML accepts but no JSON value can stand for, or a key a mapping repeats. */
function findNonJsonNode(doc: Document.Parsed): { reason: string; offset: number } | undefined {
  let problem: { reason: string; offset: number } | undefined;
  visit(doc, {
    Map(_, node) {
      // Keys as JSON will have them: `1` and "1" are the same key there.
      const keys = new Set<string>();
      for (const { key } of node.items) {
        if (!isScalar(key)) continue;
        const name = String(key.value);
        if (keys.has(name)) {
          problem = { reason: 'Map keys must be unique', offset: key.range?.[0] ?? 0 };
          return visit.BREAK;
        }
        keys.add(name);
      }
      return undefined;
    },
    Alias(_, node) {
      if (node.resolve(doc) !== undefined) return undefined;
      problem = { reason: `alias *${node.source} has no anchor &${node.source} before it`, offset: node.range?.[0] ?? 0 };
      return visit.BREAK;
    },
    Scalar(_, node) {
      if (typeof node.value !== 'number' || Number.isFinite(node.value)) return undefined;
      problem = { reason: `${String(node.source ?? node.value)} is not a number JSON can hold`, offset: node.range?.[0] ?? 0 };
      return visit.BREAK;
    },
  });
  return problem;
}

function positionOf(text: string, offset: number): TextPosition {
  const before = text.slice(0, offset);
  const lineStart = before.lastIndexOf('\n') + 1;
  return { line: before.split('\n').length, column: offset - lineStart + 1 };
}

/** The line at `position` and a caret under its column. */
function excerptAt(text: string, position: TextPosition): string {
  const line = (text.split('\n')[position.line - 1] ?? '').replace(/\r$/, '');
  const start = Math.max(0, position.column - 1 - EXCERPT_RADIUS);
  const shown = line.slice(start, position.column - 1 + EXCERPT_RADIUS);
  const prefix = start > 0 ? '…' : '';
  const suffix = start + shown.length < line.length ? '…' : '';
  // Tabs stay tabs under the caret so it lines up however the terminal renders them.
  const pad = shown.slice(0, position.column - 1 - start).replace(/[^\t]/g, ' ');
  return `${prefix}${shown}${suffix}\n${' '.repeat(prefix.length)}${pad}^`;
}
