import type { Definition } from '../../definition/definition-schema';
import { evaluateTemplate } from '../../definition/template';
import { evaluateTemplateSync } from '../../definition/template-plan';
import { definitionVariables, variableBindings } from '../../definition/variables';
import { definitionContentHash } from '../../src/definitions/content-hash';

describe('definitionVariables', () => {
  it('lists each variable once, where an expression first reads it, in every place expressions run', () => {
    const definition = {
      name: 'vars',
      description: "{% $var('IN_DESCRIPTION') %} is not an expression",
      input: { type: 'object', properties: { a: { type: 'string', pattern: "{% $var('IN_SCHEMA') %}" } } },
      output: "{% $var('OUTPUT') %}",
      steps: {
        call: {
          type: 'http',
          url: "{% $var('BASE_URL') %}/x",
          headers: { auth: "{% $var('BASE_URL') & $var('HEADER') %}" },
          output: { type: 'object', description: "{% $var('IN_OUTPUT_SCHEMA') %}" },
          compensate: { type: 'http', if: "{% $var('UNDO_IF') %}", url: "{% $var('UNDO_URL') %}" },
        },
        guarded: { type: 'transform', if: "{% $var('GUARD') %}", value: 1 },
        nap: { type: 'delay', duration: '1s' },
        ask: { type: 'wait', signal: "{% $var('IN_SIGNAL') %}" },
        custom: { type: 'send-email', to: "{% $var('TO') %}" },
        each: { type: 'map', items: "{% $var('ITEMS') %}", do: { steps: { inner: { type: 'transform', value: "{% $var('INNER') %}" } }, output: "{% $var('MAP_OUTPUT') %}" } },
        fan: { type: 'map', items: '{% [1] %}', do: { type: 'workflow', definition: 'child', input: "{% $var('ACTION') %}" } },
      },
    } as unknown as Definition;
    expect(definitionVariables(definition)).toEqual([
      { name: 'OUTPUT', pointer: '/output' },
      { name: 'BASE_URL', pointer: '/steps/call/url' },
      { name: 'HEADER', pointer: '/steps/call/headers/auth' },
      { name: 'UNDO_IF', pointer: '/steps/call/compensate/if' },
      { name: 'UNDO_URL', pointer: '/steps/call/compensate/url' },
      { name: 'GUARD', pointer: '/steps/guarded/if' },
      { name: 'TO', pointer: '/steps/custom/to' },
      { name: 'ITEMS', pointer: '/steps/each/items' },
      { name: 'MAP_OUTPUT', pointer: '/steps/each/do/output' },
      { name: 'INNER', pointer: '/steps/each/do/steps/inner/value' },
      { name: 'ACTION', pointer: '/steps/fan/do/input' },
    ]);
  });
});

describe('$var in expressions', () => {
  const values = { BASE_URL: 'https://pay.example', LIMITS: { max: 3, regions: ['eu', 'us'] }, RATE: 0.2, ON: false };

  it('gives each pinned value as JSON: strings splice into text, numbers, booleans and objects keep their type', async () => {
    const template = {
      url: "{% $var('BASE_URL') %}/charges",
      max: "{% $var('LIMITS').max * 2 %}",
      regions: "{% $var('LIMITS').regions %}",
      rate: "{% $var('RATE') %}",
      on: "{% $var('ON') %}",
    };
    expect(await evaluateTemplate(template, { ...variableBindings(values) })).toEqual({
      url: 'https://pay.example/charges',
      max: 6,
      regions: ['eu', 'us'],
      rate: 0.2,
      on: false,
    });
  });

  it('gives the same values to the synchronous engine the workflow and activities evaluate with', () => {
    const template = { url: "{% $var('BASE_URL') %}/charges", max: "{% $var('LIMITS').max * 2 %}", on: "{% $var('ON') %}" };
    expect(evaluateTemplateSync(template, { ...variableBindings(values) })).toEqual({ url: 'https://pay.example/charges', max: 6, on: false });
    expect(() => evaluateTemplateSync("{% $var('MISSING') %}", { ...variableBindings(values) })).toThrow(/no variable of that name was pinned/);
  });

  it('fails an expression reading a variable that was not pinned, naming it', async () => {
    await expect(evaluateTemplate("{% $var('MISSING') %}", { ...variableBindings(values) })).rejects.toThrow(
      /\$var\("MISSING"\): no variable of that name was pinned when the run started/,
    );
    await expect(evaluateTemplate("{% $var('toString') %}", { ...variableBindings(values) })).rejects.toThrow(/no variable of that name/);
  });

  it('is not bound at all for a run started before variables existed', () => {
    expect(variableBindings(undefined)).toEqual({});
  });
});

describe('definitionContentHash', () => {
  const document = { name: 'hashed', steps: { a: { type: 'transform', value: 1 } } };

  it('is the same with or without "$schema", and whatever URL it holds', () => {
    const plain = definitionContentHash(document);
    expect(definitionContentHash({ $schema: 'http://localhost:4000/schema/definition.json', ...document })).toBe(plain);
    expect(definitionContentHash({ ...document, $schema: './schema/definition.schema.json' })).toBe(plain);
  });

  it('changes with the content', () => {
    expect(definitionContentHash({ ...document, description: 'x' })).not.toBe(definitionContentHash(document));
  });
});
