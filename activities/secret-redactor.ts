import { ApplicationFailure } from '@temporalio/common';

/** Shortest form of a secret that is redacted; shorter ones would blank out ordinary text. */
export const MIN_REDACTED_LENGTH = 4;

/**
 * Shortest base64 run cut out of a longer encoding (see {@link secretForms}); shorter cores
 * would match ordinary base64 by chance.
 */
const MIN_BASE64_CORE_LENGTH = 8;

/** One text a secret may appear as, and whether letter case matters when looking for it. */
export type SecretForm = { text: string; ignoreCase: boolean };

/**
 * The forms of a secret value that are redacted: the value itself in any letter case
 * (`$uppercase`, `$lowercase`), escaped inside a JSON string, percent-encoded (as by
 * `$encodeUrlComponent`, with `+` for spaces as in forms, any hex case), hex (any case), and
 * base64 and base64url with or without padding — also the part of a longer base64 text that
 * encodes only the secret, at each of the three byte alignments it can have there (as in
 * `Basic base64("user:" & secret)`). A value shorter than {@link MIN_REDACTED_LENGTH} has no
 * forms, and forms that short are left out. This is not every transformation an expression could apply (`$reverse`, `$split`/`$join`
 * with other separators, a hash): see the README's "Secrets" for the exact guarantee.
 */
export function secretForms(value: string): SecretForm[] {
  const forms: SecretForm[] = [];
  if (value.length < MIN_REDACTED_LENGTH) return forms;
  const add = (text: string, ignoreCase: boolean): void => {
    if (text.length >= MIN_REDACTED_LENGTH) forms.push({ text, ignoreCase });
  };
  const bytes = Buffer.from(value, 'utf8');
  add(value, true);
  add(JSON.stringify(value).slice(1, -1), true);
  add(encodeURIComponent(value), true);
  add(encodeURIComponent(value).replace(/%20/g, '+'), true);
  add(bytes.toString('hex'), true);
  for (const base64 of [bytes.toString('base64'), bytes.toString('base64url')]) {
    add(base64, false);
    add(base64.replace(/=+$/, ''), false);
  }
  for (const core of base64Cores(bytes)) {
    if (core.length < MIN_BASE64_CORE_LENGTH) continue;
    add(core, false);
    add(core.replace(/\+/g, '-').replace(/\//g, '_'), false);
  }
  return dedupe(forms);
}

/**
 * The base64 characters that depend only on `bytes` when they are encoded after 0, 1 or 2
 * other bytes: those come out the same whatever surrounds the secret in a longer encoding.
 */
function base64Cores(bytes: Buffer): string[] {
  const cores: string[] = [];
  for (const offset of [0, 1, 2]) {
    const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString('base64');
    // Each character of the first group that holds a prefix byte depends on it; the last,
    // incomplete group depends on whatever bytes follow the secret.
    const start = offset === 0 ? 0 : offset + 1;
    const end = Math.floor((offset + bytes.length) / 3) * 4;
    if (end > start) cores.push(encoded.slice(start, end));
  }
  return cores;
}

function dedupe(forms: SecretForm[]): SecretForm[] {
  const seen = new Set<string>();
  return forms.filter((form) => {
    const key = `${form.ignoreCase ? 'i' : 's'}:${form.ignoreCase ? form.text.toLowerCase() : form.text}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Replaces every form of the secrets an activity used (see {@link secretForms}) with
 * `[secret NAME]`, in text, in JSON values (keys included) and in failures, so that nothing an
 * activity returns or throws carries a secret into Temporal history, the audit trail, logs or
 * GraphQL. Secrets are added as soon as they are read, before anything evaluates them, so a
 * failure at any later point is redacted too.
 */
export class SecretRedactor {
  private readonly byForm = new Map<string, string>();
  private patterns: { caseless?: RegExp; exact?: RegExp } | undefined;

  /** Registers secrets by name; their forms are redacted from then on. */
  add(secrets: ReadonlyMap<string, string>): void {
    for (const [name, value] of secrets) {
      for (const form of secretForms(value)) {
        const key = form.ignoreCase ? `i:${form.text.toLowerCase()}` : `s:${form.text}`;
        if (!this.byForm.has(key)) this.byForm.set(key, name);
      }
    }
    this.patterns = undefined;
  }

  /** Whether any secret is registered. */
  get active(): boolean {
    return this.byForm.size > 0;
  }

  /** `text` with every registered form replaced by `[secret NAME]`. */
  text(text: string): string {
    if (!this.active || text.length < MIN_REDACTED_LENGTH) return text;
    const { caseless, exact } = (this.patterns ??= this.compile());
    // Both patterns scan the original text, so a replacement is never matched again; where
    // matches overlap, the one starting first (then the longer) wins.
    const matches: Array<{ start: number; end: number; name: string }> = [];
    const collect = (pattern: RegExp | undefined, key: (match: string) => string): void => {
      if (!pattern) return;
      for (const match of text.matchAll(pattern)) {
        matches.push({ start: match.index, end: match.index + match[0].length, name: this.byForm.get(key(match[0])) ?? '?' });
      }
    };
    collect(exact, (match) => `s:${match}`);
    collect(caseless, (match) => `i:${match.toLowerCase()}`);
    if (matches.length === 0) return text;
    matches.sort((a, b) => a.start - b.start || b.end - a.end);
    let out = '';
    let cursor = 0;
    for (const match of matches) {
      if (match.start < cursor) {
        // Overlaps the previous replacement: extend it rather than leave part of a form behind.
        if (match.end > cursor) cursor = match.end;
        continue;
      }
      out += `${text.slice(cursor, match.start)}[secret ${match.name}]`;
      cursor = match.end;
    }
    return out + text.slice(cursor);
  }

  /** A copy of a JSON value with every string (and object key) redacted. */
  value<T>(value: T): T {
    if (!this.active) return value;
    const visit = (node: unknown): unknown => {
      if (typeof node === 'string') return this.text(node);
      if (Array.isArray(node)) return node.map(visit);
      if (node !== null && typeof node === 'object') {
        const copy: Record<string, unknown> = {};
        for (const [key, item] of Object.entries(node)) {
          Object.defineProperty(copy, this.text(key), { value: visit(item), enumerable: true, writable: true, configurable: true });
        }
        return copy;
      }
      return node;
    };
    return visit(value) as T;
  }

  /**
   * An activity failure whose message and details carry no registered secret. Anything that is
   * not an `ApplicationFailure` becomes one (its stack, which repeats the message, is dropped);
   * `retryable: false` on a plain error makes it non-retryable.
   */
  failure(err: unknown, fallbackType: string): ApplicationFailure {
    if (err instanceof ApplicationFailure) {
      if (!this.active) return err;
      return ApplicationFailure.create({
        message: this.text(err.message),
        type: err.type ?? undefined,
        nonRetryable: err.nonRetryable ?? undefined,
        details: this.value(err.details ?? []) as unknown[],
      });
    }
    const message = this.text(err instanceof Error ? err.message : String(err));
    const type = err instanceof Error && err.name !== 'Error' ? err.name : fallbackType;
    const retryable = (err as { retryable?: unknown } | null)?.retryable !== false;
    return ApplicationFailure.create({ message, type, nonRetryable: !retryable });
  }

  private compile(): { caseless?: RegExp; exact?: RegExp } {
    const build = (prefix: 'i:' | 's:', flags: string): RegExp | undefined => {
      const texts = [...this.byForm.keys()].filter((key) => key.startsWith(prefix)).map((key) => key.slice(2));
      if (texts.length === 0) return undefined;
      texts.sort((a, b) => b.length - a.length);
      return new RegExp(texts.map(escapeRegExp).join('|'), flags);
    };
    return { caseless: build('i:', 'gi'), exact: build('s:', 'g') };
  }
}
