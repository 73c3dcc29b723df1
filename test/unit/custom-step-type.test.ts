import { z } from 'zod';
import {
  checkCustomStepTypes,
  COMMON_STEP_FIELDS,
  CUSTOM_STEP_TYPE_PATTERN,
  customStepConfig,
  type CustomStepTypeSchema,
} from '../../definition/custom-step-type';
import { definitionSchema, definitionSchemaFor, type Step } from '../../definition/definition-schema';

const sendEmail: CustomStepTypeSchema = { name: 'send-email', config: z.object({ to: z.string(), subject: z.string() }) };

describe('checkCustomStepTypes', () => {
  it('accepts lowercase names with a "-" and a zod object config', () => {
    expect(() => checkCustomStepTypes([sendEmail, { name: 'update-crm-v2', config: z.object({}) }])).not.toThrow();
  });

  it.each([
    ['a name without "-", which could collide with a future built-in type', 'sendemail'],
    ['uppercase letters', 'Send-Email'],
    ['a leading digit', '1-send'],
    ['more than 63 characters', `a-${'b'.repeat(62)}`],
    ['a built-in type', 'http'],
  ])('throws for %s', (_reason, name) => {
    expect(() => checkCustomStepTypes([{ ...sendEmail, name }])).toThrow(`custom step type "${name}"`);
  });

  it('throws for a name registered twice', () => {
    expect(() => checkCustomStepTypes([sendEmail, sendEmail])).toThrow('custom step type "send-email" is registered twice');
  });

  it('throws for a config that is not a zod object or that declares a field every step has', () => {
    expect(() => checkCustomStepTypes([{ ...sendEmail, config: z.string() as unknown as z.ZodObject }])).toThrow('config must be a zod object');
    expect(() => checkCustomStepTypes([{ ...sendEmail, config: z.object({ timeout: z.number() }) }])).toThrow(
      'config declares "timeout", which is a field of every step',
    );
  });

  it('uses a name pattern no built-in step type matches', () => {
    expect(['http', 'transform', 'condition', 'delay', 'workflow', 'wait', 'map'].some((type) => CUSTOM_STEP_TYPE_PATTERN.test(type))).toBe(false);
  });
});

describe('customStepConfig', () => {
  it('keeps the fields that are not common to every step', () => {
    const step = { type: 'send-email', needs: ['a'], retry: { maxAttempts: 2 }, to: 'a@example.com', subject: '{% $input.s %}' };
    expect(customStepConfig(step)).toEqual({ to: 'a@example.com', subject: '{% $input.s %}' });
  });

  it('knows every common field', () => {
    const step = Object.fromEntries(COMMON_STEP_FIELDS.map((field) => [field, 1]));
    expect(customStepConfig(step)).toEqual({});
  });
});

describe('definitionSchemaFor', () => {
  const spec = { name: 'mail', steps: { notify: { type: 'send-email', to: 'a@example.com', subject: 'hi' } } };

  it('builds one schema per array of types and reuses it', () => {
    const types = [sendEmail];
    expect(definitionSchemaFor(types)).toBe(definitionSchemaFor(types));
    expect(definitionSchemaFor([])).toBe(definitionSchema);
  });

  it('accepts the registered types while the built-in schema still refuses them', () => {
    expect(definitionSchemaFor([sendEmail]).safeParse(spec).success).toBe(true);
    expect(definitionSchema.safeParse(spec).success).toBe(false);
  });

  it('keeps step.type narrowing a Step to the built-in step type', () => {
    const describeStep = (step: Step): string => {
      // Compiles only while `step.type === 'http'` narrows away custom steps.
      if (step.type === 'http') return step.url;
      if (step.type === 'map') return step.items;
      return step.type;
    };
    expect(describeStep({ type: 'http', url: 'https://a.example' })).toBe('https://a.example');
    expect(describeStep({ type: 'send-email', to: 'a@example.com' })).toBe('send-email');
  });
});
