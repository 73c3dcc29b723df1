import fs from 'node:fs/promises';
import path from 'node:path';
import { DocumentSyntaxError } from '../../src/support/document-syntax-error';
import { documentFormatOfFile, parseDocumentText } from '../../src/support/document-text';

/** The error `parseDocumentText` throws for `text`. */
function syntaxError(text: string, format?: 'JSON' | 'YAML'): DocumentSyntaxError {
  try {
    parseDocumentText(text, format);
  } catch (err) {
    if (err instanceof DocumentSyntaxError) return err;
    throw err;
  }
  throw new Error(`expected ${JSON.stringify(text)} not to parse`);
}

describe('parseDocumentText', () => {
  it('reads YAML block and flow style, JSON, and YAML 1.2 scalars the way JSON would', () => {
    expect(parseDocumentText('name: a\nsteps:\n  s: { type: transform, value: [1, "two"] }\n')).toEqual({
      name: 'a',
      steps: { s: { type: 'transform', value: [1, 'two'] } },
    });
    expect(parseDocumentText('{"name": "a", "n": 1.5, "ok": true, "none": null}')).toEqual({ name: 'a', n: 1.5, ok: true, none: null });
    // YAML 1.1 surprises do not happen: these stay strings.
    expect(parseDocumentText('a: yes\nb: 2024-01-01\nc: "010"')).toEqual({ a: 'yes', b: '2024-01-01', c: '010' });
  });

  it('reads the YAML example as the same document as the JSON one', async () => {
    const read = (file: string) => fs.readFile(path.resolve(__dirname, '../../examples', file), 'utf8');
    expect(parseDocumentText(await read('order-fulfilment.yaml'), 'YAML')).toEqual(parseDocumentText(await read('order-fulfilment.json'), 'JSON'));
  });

  it('gives the line and column of a YAML syntax error, and the offending line with a caret', () => {
    const error = syntaxError('name: a\nsteps:\n  s: type: transform\n');
    expect(error).toMatchObject({ format: 'YAML', position: { line: 3, column: 6 } });
    expect(error.message).toBe('line 3, column 6: Nested mappings are not allowed in compact mappings');
    expect(error.excerpt).toBe('  s: type: transform\n     ^');
  });

  it('refuses duplicate keys, several documents, aliases without an anchor and numbers JSON cannot hold', () => {
    expect(syntaxError('a: 1\na: 2').message).toBe('line 2, column 1: Map keys must be unique');
    expect(syntaxError('a: 1\n---\nb: 2').message).toMatch(/^line 2, column 1: a "---" line starts a second document/);
    expect(syntaxError('a: *missing').message).toBe('line 1, column 4: alias *missing has no anchor &missing before it');
    expect(syntaxError('a: [1, .inf]').message).toBe('line 1, column 8: .inf is not a number JSON can hold');
  });

  it('keeps JSON\'s own message for JSON, located by line and column', () => {
    const error = syntaxError('{\n  "a": 1,\n}', 'JSON');
    expect(error).toMatchObject({ format: 'JSON', position: { line: 3, column: 1 } });
    expect(error.message).toBe('line 3, column 1: Expected double-quoted property name');
    expect(syntaxError('{"who":', 'JSON').message).toBe('line 1, column 8: Unexpected end of JSON input');
  });

  it('reports JSON\'s error for a text that starts like JSON and is neither JSON nor YAML', () => {
    expect(syntaxError('{"who": "Ada"').format).toBe('JSON');
    expect(syntaxError('who: [Ada').format).toBe('YAML');
  });

  it('reads an empty YAML text as null and ignores a byte-order mark', () => {
    expect(parseDocumentText('')).toBeNull();
    expect(parseDocumentText('\uFEFF{"a": 1}', 'JSON')).toEqual({ a: 1 });
  });

  it('only parses as JSON when told the text is JSON', () => {
    expect(syntaxError('a: 1', 'JSON').format).toBe('JSON');
  });
});

describe('documentFormatOfFile', () => {
  it('takes .json for JSON, .yaml and .yml for YAML in any case, and anything else for either', () => {
    expect(['a.json', 'a.JSON', 'a.yaml', 'b.yml', 'c.YML', 'd.txt', 'e'].map(documentFormatOfFile)).toEqual([
      'JSON', 'JSON', 'YAML', 'YAML', 'YAML', undefined, undefined,
    ]);
  });
});
