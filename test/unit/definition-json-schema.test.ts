import fs from 'node:fs/promises';
import path from 'node:path';
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import { parseDocumentText } from '../../src/support/document-text';
import {
  DEFINITION_SCHEMA_ID,
  DEFINITION_SCHEMA_PATH,
  publishedDefinitionSchemaText,
} from '../../src/support/published-definition-schema';
import { ORDER_FULFILMENT } from '../support/spec-example';

const ROOT = path.resolve(__dirname, '../..');


let committed: string;
let validate: ValidateFunction;

beforeAll(async () => {
  committed = await fs.readFile(path.join(ROOT, DEFINITION_SCHEMA_PATH), 'utf8').catch(() => '');
  // Strict mode: a schema ajv only half understands would also confuse editors.
  validate = new Ajv2020({ allErrors: true, strict: true }).compile(JSON.parse(committed || '{}'));
});

/** The instance paths ajv complains about, or [] when `document` is valid. */
function schemaErrors(document: unknown): string[] {
  return validate(document) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`);
}

describe(`the published JSON Schema (${DEFINITION_SCHEMA_PATH})`, () => {
  it('is exactly what the generator writes from the zod schema today', () => {
    const upToDate = committed === publishedDefinitionSchemaText();
    expect(upToDate ? 'up to date' : `${DEFINITION_SCHEMA_PATH} differs from definitionJsonSchema(): run \`npm run schema\` and commit the file`).toBe(
      'up to date',
    );
  });

  it('declares draft 2020-12 and a stable $id and title for editors', () => {
    expect(JSON.parse(committed)).toMatchObject({
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      $id: DEFINITION_SCHEMA_ID,
      title: 'Trellis workflow definition',
    });
  });

  it('accepts the SPEC example, with a "$schema" pointing at the file or at a URL', () => {
    expect(schemaErrors(ORDER_FULFILMENT)).toEqual([]);
    expect(schemaErrors({ $schema: './schema/definition.schema.json', ...ORDER_FULFILMENT })).toEqual([]);
    expect(schemaErrors({ $schema: 'https://example.com/schema/definition.schema.json', ...ORDER_FULFILMENT })).toEqual([]);
  });

  it('accepts the order-fulfilment example in both its JSON and its YAML version', async () => {
    for (const file of ['examples/order-fulfilment.json', 'examples/order-fulfilment.yaml']) {
      const document = parseDocumentText(await fs.readFile(path.join(ROOT, file), 'utf8'));
      expect({ file, errors: schemaErrors(document) }).toEqual({ file, errors: [] });
    }
  });

  it('rejects a step of an unknown type at that step', () => {
    const errors = schemaErrors({ name: 'x', steps: { a: { type: 'telepathy', value: 1 } } });
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.every((e) => e.startsWith('/steps/a'))).toBe(true);
  });

  it('rejects unknown fields, a missing name and an invalid step id', () => {
    expect(schemaErrors({ ...ORDER_FULFILMENT, colour: 'blue' })).toContain('/ must NOT have additional properties');
    const { name: _name, ...nameless } = ORDER_FULFILMENT;
    expect(schemaErrors(nameless)).toContain("/ must have required property 'name'");
    expect(schemaErrors({ name: 'x', steps: { 'no spaces': { type: 'transform', value: 1 } } }).length).toBeGreaterThan(0);
  });
});
