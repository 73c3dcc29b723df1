/**
 * Types of `jsonata-sync.js`, the synchronous build of jsonata that
 * `scripts/generate-sync-jsonata.ts` generates from the installed jsonata at install time (the
 * `.js` is not committed). Hand-written: the build keeps jsonata's API except that `evaluate`
 * returns its result synchronously (or a generator for `definition/expression-driver.ts` to run).
 */
import type jsonata from 'jsonata';

declare namespace createJsonata {
  /** A built-in function of jsonata's `functions` or `datetime` module. */
  type Builtin = (...args: any[]) => unknown;

  /** What the build calls while it is created. */
  interface JsonataHooks {
    /**
     * Receives the exports of jsonata's `functions` or `datetime` module before anything binds
     * them and returns what the evaluator uses instead, for calls from expressions and from the
     * evaluator itself.
     */
    builtins(module: 'functions' | 'dateTime', exports: Record<string, Builtin>): Record<string, Builtin>;
    /** Called once per call of a converted (formerly async) function: where steps are charged. */
    step(): void;
    /** Runs a generator the build returned past its plain call depth to its end (a driver). */
    drive(generator: Generator): unknown;
  }

  /** A compiled expression of the synchronous build. */
  interface SyncExpression {
    /**
     * Evaluates: the result, or (past the plain call depth, which a top-level call never is) a
     * generator for a driver to run.
     */
    evaluate(input: unknown, bindings?: Record<string, unknown>): unknown;
    assign(name: string | symbol, value: unknown): void;
    ast(): jsonata.ExprNode;
  }

  /** `jsonata(source, options)` of the synchronous build. */
  type SyncJsonata = (source: string, options?: Omit<jsonata.JsonataOptions, 'RegexEngine'> & { RegexEngine?: unknown }) => SyncExpression;
}

/** Builds a fresh synchronous jsonata whose built-ins pass through `hooks.builtins`. */
declare function createJsonata(hooks: createJsonata.JsonataHooks): createJsonata.SyncJsonata;

export = createJsonata;
