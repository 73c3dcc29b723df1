import type { Definition } from '../../definition/definition-schema';
import { CUSTOM_STEP_TRAITS, STEP_TRAITS, templatedFieldsOf, traitsOf } from '../../definition/step-traits';
import { STEP_TYPES } from '../../definition/step-types';
import { TEMPLATED_FIELDS, templatedValues } from '../../definition/templated-fields';
import { STEP_HANDLERS } from '../../interpreter/step-handlers';

describe('STEP_TRAITS', () => {
  it('has an entry and a handler for every built-in step type, and nothing else', () => {
    expect(Object.keys(STEP_TRAITS).sort()).toEqual([...STEP_TYPES].sort());
    expect(Object.keys(STEP_HANDLERS).sort()).toEqual([...STEP_TYPES].sort());
  });

  it('derives TEMPLATED_FIELDS from each type\'s templated fields', () => {
    for (const type of STEP_TYPES) expect(TEMPLATED_FIELDS[type]).toEqual(STEP_TRAITS[type].templated);
  });

  it('lets only http and workflow be compensations and map actions', () => {
    expect(STEP_TYPES.filter((type) => STEP_TRAITS[type].action)).toEqual(['http', 'workflow']);
  });

  it('lets a testRun mock every type that calls something, and no type that runs inside the workflow', () => {
    expect(STEP_TYPES.filter((type) => !STEP_TRAITS[type].mockable)).toEqual(['transform', 'condition']);
    expect(CUSTOM_STEP_TRAITS.mockable).toBe(true);
  });

  it('retries only the types that run as activities', () => {
    expect(STEP_TYPES.filter((type) => STEP_TRAITS[type].retries)).toEqual(STEP_TYPES.filter((type) => STEP_TRAITS[type].runs === 'activity'));
    expect(CUSTOM_STEP_TRAITS).toMatchObject({ runs: 'activity', retries: true });
  });

  it('gives every type that is not built in the custom step traits', () => {
    expect(traitsOf('send-email')).toBe(CUSTOM_STEP_TRAITS);
    expect(traitsOf('http')).toBe(STEP_TRAITS.http);
    // A prototype key is not a step type.
    expect(traitsOf('constructor')).toBe(CUSTOM_STEP_TRAITS);
  });
});

describe('templatedFieldsOf', () => {
  it('lists a built-in type\'s declared fields and every config field of a custom step', () => {
    expect(templatedFieldsOf({ type: 'http', url: 'x' })).toEqual(['method', 'url', 'query', 'headers', 'body']);
    expect(templatedFieldsOf({ type: 'send-email', to: '{% $input.to %}', subject: 's', retry: { maxAttempts: 1 }, needs: [] })).toEqual(['to', 'subject']);
  });
});

describe('templatedValues', () => {
  it('finds the templated values of steps, compensations and map actions by the traits table', () => {
    const definition = {
      name: 'order',
      output: '{% $steps.pay.output %}',
      steps: {
        pay: { type: 'http', url: '{% $input.url %}', compensate: { type: 'workflow', definition: 'refund', input: '{% $input %}' } },
        each: { type: 'map', items: '{% $input.lines %}', do: { type: 'http', url: '{% $item.url %}', if: '{% $item.ok %}' } },
        mail: { type: 'send-email', to: '{% $input.to %}', needs: ['pay'] },
        check: { type: 'condition', if: '{% true %}' },
      },
    } as unknown as Definition;
    expect(templatedValues(definition).map(({ pointer }) => pointer)).toEqual([
      '/output',
      '/steps/pay/url',
      '/steps/pay/compensate/input',
      '/steps/each/items',
      '/steps/each/do/if',
      '/steps/each/do/url',
      '/steps/mail/to',
      '/steps/check/if',
    ]);
  });
});
