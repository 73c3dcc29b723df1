import { graphql } from '../support/graphql-client';
import { getRun } from '../support/runs';
import { createTestContext, type TestContext } from '../support/test-context';

let ctx: TestContext;

beforeAll(async () => {
  ctx = await createTestContext();
});

afterAll(async () => {
  await ctx?.stop();
});

const SAVE = `mutation($spec: JSON!) { saveDefinition(spec: $spec) { name version contentHash spec } }`;
const VALIDATE = `query($spec: JSON!) { validateDefinition(spec: $spec) { valid errors { path message } } }`;
const START = `mutation($name: String!, $input: JSON) { startRun(definition: $name, input: $input) { id temporal { workflowId } } }`;

const PRICE_YAML = `# sent as text, as a client reads it from price.yaml
name: api-yaml-price
input:
  type: object
  required: [amount]
  properties: { amount: { type: number } }
output: "{% $steps.total.output %}"
steps:
  tax:
    type: transform
    value: "{% $input.amount * 0.2 %}"
  total:
    type: transform
    needs: [tax]
    value: "{% $input.amount + $steps.tax.output %}"
`;

const PRICE = {
  name: 'api-yaml-price',
  input: { type: 'object', required: ['amount'], properties: { amount: { type: 'number' } } },
  output: '{% $steps.total.output %}',
  steps: {
    tax: { type: 'transform', value: '{% $input.amount * 0.2 %}' },
    total: { type: 'transform', needs: ['tax'], value: '{% $input.amount + $steps.tax.output %}' },
  },
};

describe('definitions sent as YAML or JSON text', () => {
  it('saves a definition sent as a YAML string as the parsed document, which then runs', async () => {
    const { saveDefinition } = await ctx.gql(SAVE, { spec: PRICE_YAML });
    expect(saveDefinition).toMatchObject({ name: 'api-yaml-price', version: 1, spec: PRICE });

    const { startRun } = await ctx.gql(START, { name: 'api-yaml-price', input: { amount: 10 } });
    await ctx.trellis.client.workflow.getHandle(startRun.temporal.workflowId).result();
    expect(await getRun(ctx, startRun.id)).toMatchObject({ status: 'COMPLETED', output: 12 });
  });

  it('treats the same document sent as an object, as JSON text or as YAML text as one version', async () => {
    const versions = [];
    for (const spec of [PRICE_YAML, PRICE, JSON.stringify(PRICE, null, 2)]) {
      versions.push((await ctx.gql(SAVE, { spec })).saveDefinition);
    }
    expect(new Set(versions.map((v) => `${v.version} ${v.contentHash}`)).size).toBe(1);
  });

  it('validates a YAML string, reporting definition errors at their JSON pointers', async () => {
    const spec = 'name: api-yaml-broken\nsteps:\n  a: { type: transform, needs: [ghost], value: 1 }\n';
    const { validateDefinition } = await ctx.gql(VALIDATE, { spec });
    expect(validateDefinition).toEqual({ valid: false, errors: [{ path: '/steps/a/needs/0', message: 'needs "ghost", which is not a step' }] });
  });

  it('answers a YAML syntax error with BAD_USER_INPUT and the line and column at path "", for save and validate', async () => {
    const spec = 'name: api-yaml-syntax\nsteps:\n  a: type: transform\n';
    for (const operation of [SAVE, VALIDATE]) {
      const result = await graphql(ctx.graphqlUrl, operation, { spec });
      expect(result.errors).toHaveLength(1);
      expect(result.errors![0]).toMatchObject({
        message: 'spec is not valid YAML: / line 3, column 6: Nested mappings are not allowed in compact mappings',
        extensions: {
          code: 'BAD_USER_INPUT',
          errors: [{ path: '', message: 'line 3, column 6: Nested mappings are not allowed in compact mappings' }],
        },
      });
    }
  });

  it('answers JSON text that does not parse with BAD_USER_INPUT located where the JSON breaks off', async () => {
    const result = await graphql(ctx.graphqlUrl, SAVE, { spec: '{"name": "api-json-syntax", "steps": {' });
    expect(result.errors![0]!.extensions).toEqual({
      code: 'BAD_USER_INPUT',
      errors: [{ path: '', message: expect.stringMatching(/^line 1, column 39: \S/) }],
    });
  });
});
