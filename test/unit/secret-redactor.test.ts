import { ApplicationFailure } from '@temporalio/common';
import { SecretRedactor, secretForms } from '../../activities/secret-redactor';

const SECRET = 'sk_live_7f3b9c2e/4a1d+8f6b?';

function redactorOf(secrets: Record<string, string>): SecretRedactor {
  const redactor = new SecretRedactor();
  redactor.add(new Map(Object.entries(secrets)));
  return redactor;
}

describe('SecretRedactor', () => {
  const redactor = redactorOf({ PAY_TOKEN: SECRET });
  const bytes = Buffer.from(SECRET, 'utf8');

  it.each([
    ['the value', SECRET],
    ['the value upper-cased', SECRET.toUpperCase()],
    ['the value lower-cased', SECRET.toLowerCase()],
    ['the value escaped in a JSON string', JSON.stringify(`"${SECRET}"`).slice(1, -1)],
    ['the value percent-encoded', encodeURIComponent(SECRET)],
    ['the value percent-encoded with lower-case hex', encodeURIComponent(SECRET).toLowerCase()],
    ['the value in hex', bytes.toString('hex')],
    ['the value in upper-case hex', bytes.toString('hex').toUpperCase()],
    ['the value in base64', bytes.toString('base64')],
    ['the value in base64 without padding', bytes.toString('base64').replace(/=+$/, '')],
    ['the value in base64url', bytes.toString('base64url')],
  ])('removes %s from text around it', (_what, form) => {
    const out = redactor.text(`before ${form} after`);
    expect(out).toContain('[secret PAY_TOKEN]');
    expect(out.startsWith('before ')).toBe(true);
    expect(out.endsWith(' after')).toBe(true);
    expect(out).not.toContain(form);
  });

  it.each([0, 1, 2, 3, 4, 5])('removes the secret from a longer base64 text that encodes it after %i other bytes', (prefix) => {
    const surrounding = Buffer.concat([Buffer.from('u'.repeat(prefix)), Buffer.from(':'), bytes, Buffer.from('@tail')]);
    for (const encoded of [surrounding.toString('base64'), surrounding.toString('base64url')]) {
      const out = redactor.text(`Basic ${encoded}`);
      expect(out).toContain('[secret PAY_TOKEN]');
      // What is left cannot be decoded back into the secret.
      const leftover = out.replace(/\[secret PAY_TOKEN\]/g, '');
      expect(Buffer.from(leftover.replace('Basic ', ''), 'base64').toString('latin1')).not.toContain(SECRET.slice(0, 8));
    }
  });

  it('redacts keys and values at any depth of a JSON value', () => {
    const value = { [SECRET]: [{ nested: `Bearer ${SECRET}` }, 42, null, true], plain: 'nothing here' };
    expect(redactor.value(value)).toEqual({ '[secret PAY_TOKEN]': [{ nested: 'Bearer [secret PAY_TOKEN]' }, 42, null, true], plain: 'nothing here' });
  });

  it('keeps an object key "__proto__" as a key, not a prototype', () => {
    const value = JSON.parse(`{"__proto__": "${SECRET}"}`) as Record<string, unknown>;
    const out = redactor.value(value);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(out, '__proto__')?.value).toBe('[secret PAY_TOKEN]');
  });

  it('never re-matches its own replacement, even for a secret that reads like one', () => {
    const tricky = redactorOf({ A: 'secret', B: '[secret A]' });
    expect(tricky.text('x secret y [secret A] z')).toBe('x [secret A] y [secret B] z');
  });

  it('leaves values shorter than four characters alone, and does nothing with no secrets', () => {
    expect(secretForms('abc')).toEqual([]);
    const idle = new SecretRedactor();
    const value = { a: SECRET };
    expect(idle.active).toBe(false);
    expect(idle.value(value)).toBe(value);
  });

  it('redacts the message and details of a failure, keeping its type and retryability', () => {
    const failure = redactor.failure(
      ApplicationFailure.create({ message: `Unable to cast value to a number: "${SECRET}"`, type: 'ExpressionError', nonRetryable: true, details: [{ value: SECRET }] }),
      'Fallback',
    );
    expect(failure.message).toBe('Unable to cast value to a number: "[secret PAY_TOKEN]"');
    expect(failure.type).toBe('ExpressionError');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.details).toEqual([{ value: '[secret PAY_TOKEN]' }]);
  });

  it('turns a plain error into a failure without its stack, honouring retryable: false', () => {
    const plain = Object.assign(new TypeError(`bad header ${SECRET}`), { retryable: false });
    const failure = redactor.failure(plain, 'Fallback');
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure.message).toBe('bad header [secret PAY_TOKEN]');
    expect(failure.type).toBe('TypeError');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.stack ?? '').not.toContain(SECRET);
  });
});
