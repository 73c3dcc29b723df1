/**
 * Writes the published JSON Schema of the definition language (`npm run schema`). Run it after
 * changing definition/definition-schema.ts; test/unit/definition-json-schema.test.ts fails until then.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { DEFINITION_SCHEMA_PATH, publishedDefinitionSchemaText } from '../src/support/published-definition-schema';

const target = path.resolve(__dirname, '..', DEFINITION_SCHEMA_PATH);
writeFileSync(target, publishedDefinitionSchemaText());
console.log(`wrote ${path.relative(process.cwd(), target)}`);
