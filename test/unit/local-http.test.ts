import { formatErrors, validateDefinition, type DefinitionError } from '../../definition/definition-validator';
import { localHttpTimeout } from '../../definition/local-http';

type Json = Record<string, unknown>;

const call = (extra: Json = {}): Json => ({ type: 'http', method: 'POST', url: 'https://api.example/x', local: true, ...extra });

function errorsOf(spec: Json): DefinitionError[] {
  const result = validateDefinition(spec);
  return result.valid ? [] : result.errors;
}

describe('"local": true', () => {
  it('is accepted on http steps, compensations and map actions with a timeout of at most 10s, or none', () => {
    const spec = {
      name: 'local',
      steps: {
        a: call({ timeout: '10s', compensate: call({ timeout: '2s' }) }),
        b: call(),
        each: { type: 'map', items: '{% [1, 2] %}', do: call({ timeout: '500ms' }) },
        inner: { type: 'map', items: '{% [1] %}', do: { steps: { c: call() } } },
      },
    };
    const result = validateDefinition(spec);
    expect(result.valid ? [] : formatErrors(result.errors)).toEqual([]);
  });

  it('is refused on every other step type', () => {
    const errors = errorsOf({ name: 'local', steps: { t: { type: 'transform', value: 1, local: true }, d: { type: 'delay', duration: '1s', local: true } } });
    expect(errors).toEqual([
      { path: '/steps/d/local', message: 'unknown field "local"' },
      { path: '/steps/t/local', message: 'unknown field "local"' },
    ]);
  });

  it('is refused with a longer timeout, at the timeout, wherever the call is', () => {
    const errors = errorsOf({
      name: 'local',
      steps: {
        a: call({ timeout: '11s', compensate: call({ timeout: '1m' }) }),
        each: { type: 'map', items: '{% [1] %}', do: call({ timeout: '30s' }) },
        inner: { type: 'map', items: '{% [1] %}', do: { steps: { c: call({ timeout: '1h' }) } } },
      },
    });
    expect(errors).toEqual([
      { path: '/steps/a/compensate/timeout', message: 'a local http call may take at most 10s per attempt; timeout is "1m"' },
      { path: '/steps/a/timeout', message: 'a local http call may take at most 10s per attempt; timeout is "11s"' },
      { path: '/steps/each/do/timeout', message: 'a local http call may take at most 10s per attempt; timeout is "30s"' },
      { path: '/steps/inner/do/steps/c/timeout', message: 'a local http call may take at most 10s per attempt; timeout is "1h"' },
    ]);
  });

  it('is refused when it would take a longer defaults.timeout, and accepted with its own shorter one', () => {
    const errors = errorsOf({ name: 'local', defaults: { timeout: '30s' }, steps: { a: call(), b: call({ timeout: '5s' }) } });
    expect(errors).toEqual([{ path: '/steps/a/local', message: 'a local http call may take at most 10s per attempt, and defaults.timeout is "30s": set a timeout of at most 10s on it' }]);
  });

  it('must be a boolean', () => {
    expect(errorsOf({ name: 'local', steps: { a: call({ local: 'yes' }) } })).toEqual([{ path: '/steps/a/local', message: 'expected boolean, got "yes"' }]);
  });

  it('takes the step\'s timeout, else the definition\'s default, else 10s', () => {
    expect(localHttpTimeout('2s', '5s')).toBe('2s');
    expect(localHttpTimeout(undefined, '5s')).toBe('5s');
    expect(localHttpTimeout(undefined, undefined)).toBe('10s');
  });
});
