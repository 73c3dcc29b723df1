import moduleLoader from '@jitl/quickjs-wasmfile-release-sync/emscripten-module';
import { QuickJSFFI } from '@jitl/quickjs-wasmfile-release-sync/ffi';
import { newQuickJSWASMModuleFromVariant, newVariant, type QuickJSSyncVariant, type QuickJSContext, type QuickJSHandle, type QuickJSRuntime, type QuickJSWASMModule, type VmCallResult } from 'quickjs-emscripten-core';
import type { LogLevel } from '../../definition/log-levels';
import { LOG_LEVELS } from '../../definition/log-levels';
import { createCodeLibrary, type HostFunction, type HostValue } from './code-library';
import { MAX_CODE_INPUT_CHARS, type CodeLogLine, type CodeStepInput } from '../../interpreter/code-step';
import { DEFAULT_CODE_LIMITS, MAX_LOG_CHARS, MAX_LOG_LINES, type CodeLimits } from './code-limits';
import { CODE_FILE, MAX_ERROR_TEXT, PRELUDE, SOURCE_LINE_OFFSET, wrapSource } from './code-prelude';
import { CodeStepError, type SourcePosition } from './code-step-error';


/** The outcome of one execution: its JSON result or its error, and its console lines either way. */
export type CodeOutcome =
  | { ok: true; output: unknown; logs: CodeLogLine[] }
  | { ok: false; error: CodeStepError; logs: CodeLogLine[] };

/** A syntax error in a code step's source, positioned in the source (1-based). */
export type CodeSyntaxError = { message: string; line: number; column?: number };

/** Extra time, after the code's own, to read what it threw (reading may run its getters). */
const DESCRIBE_GRACE_MS = 100;
/** Extra memory, past the limit, to read what it threw after it ran out. */
const DESCRIBE_MEMORY_BYTES = 1024 * 1024;
/** Limits of the syntax check at save time, which compiles and runs nothing. */
const PARSE_TIME_MS = 2_000;
const TICK_INTERRUPTED = 'interrupted: the code ran past its CPU time limit';

// The package's own variant loads the Emscripten module with a dynamic import(), which jest's
// CommonJS sandbox refuses: the same two files of the same package, imported statically.
const variant: QuickJSSyncVariant = {
  type: 'sync',
  importFFI: () => Promise.resolve(QuickJSFFI),
  importModuleLoader: () => Promise.resolve(moduleLoader),
};

const WASM_PAGE = 64 * 1024;
/** What the QuickJS build needs besides the code's heap: its static data and C stack (16 MiB initial memory). */
const BASE_WASM_BYTES = 24 * 1024 * 1024;

const modules = new Map<number, Promise<QuickJSWASMModule>>();
// Node's global; TypeScript's ES2022 lib does not declare it.
const WasmMemory = (globalThis as unknown as { WebAssembly: { Memory: new (size: { initial: number; maximum: number }) => WebAssemblyMemory } }).WebAssembly.Memory;
type WebAssemblyMemory = ReturnType<QuickJSWASMModule['getWasmMemory']>;

/**
 * The process's QuickJS WebAssembly module for a memory limit (compiled and instantiated once,
 * ~80 ms; every execution gets its own runtime and context in it). The module's WebAssembly memory
 * cannot grow past the limit plus what QuickJS itself needs: QuickJS's own accounting
 * (`setMemoryLimit`) counts allocations but not their sizes in this build, so a bomb of large
 * strings would otherwise grow the memory to 2 GiB; a capped memory makes `malloc` fail, and
 * QuickJS throws its out-of-memory error. Executions run one at a time, each freeing its heap.
 */
function quickJs(memoryBytes: number): Promise<QuickJSWASMModule> {
  let module = modules.get(memoryBytes);
  if (!module) {
    const maximum = Math.ceil((BASE_WASM_BYTES + memoryBytes) / WASM_PAGE);
    const wasmMemory = new WasmMemory({ initial: BASE_WASM_BYTES / WASM_PAGE, maximum });
    module = newQuickJSWASMModuleFromVariant(newVariant(variant, { wasmMemory })).catch((err: unknown) => {
      modules.delete(memoryBytes);
      throw err;
    });
    modules.set(memoryBytes, module);
  }
  return module;
}

/** Makes the next {@link quickJs} call load a new module (after the module broke). */
function dropModule(memoryBytes: number, module: QuickJSWASMModule): void {
  void modules.get(memoryBytes)?.then((current) => {
    if (current === module) modules.delete(memoryBytes);
  });
}

/**
 * Runs code steps' JavaScript in QuickJS compiled to WebAssembly. Every execution gets a fresh
 * QuickJS runtime and context (its own heap, limits and globals: nothing one run sets is visible
 * to the next) in a WebAssembly module shared by the whole process; creating them costs well under
 * a millisecond, loading the module ~80 ms once. Only JSON text crosses into the sandbox, and the
 * only host functions it can call are the curated library's and the console sink, which take and
 * return strings and numbers.
 *
 * Execution is synchronous on the calling thread: CPU time is bounded by the interrupt handler's
 * deadline ({@link CodeLimits.timeoutMs}), so one execution holds the worker's event loop for at
 * most that long.
 */
export class CodeSandbox {
  constructor(readonly limits: Readonly<CodeLimits> = DEFAULT_CODE_LIMITS) {}

  /** Loads the WebAssembly module now rather than on the first execution. */
  async warm(): Promise<void> {
    await quickJs(this.limits.memoryBytes);
  }

  /**
   * Runs `source` (a function body) with `args`. Never throws for anything the code does: its
   * failures are `{ ok: false, error }` with one of the `CODE_*` codes.
   * @throws only when the WebAssembly module cannot be loaded or breaks (then it is replaced).
   */
  async run(source: string, args: CodeStepInput): Promise<CodeOutcome> {
    const argsText = JSON.stringify(args);
    if (argsText.length > MAX_CODE_INPUT_CHARS) {
      const error = new CodeStepError('CODE_INPUT_TOO_LARGE', `what the code is given is ${argsText.length} characters of JSON; the limit is ${MAX_CODE_INPUT_CHARS}`);
      return { ok: false, error, logs: [] };
    }
    const module = await quickJs(this.limits.memoryBytes);
    try {
      return new Execution(module, this.limits).run(source, argsText);
    } catch (err) {
      // Not the code's doing (QuickJS reports those as values): the module itself broke.
      dropModule(this.limits.memoryBytes, module);
      throw err;
    }
  }

  /** The syntax error of a code step's `source`, or `undefined` when it compiles. Runs nothing. */
  async syntaxError(source: string): Promise<CodeSyntaxError | undefined> {
    const module = await quickJs(this.limits.memoryBytes);
    const runtime = module.newRuntime();
    try {
      runtime.setMemoryLimit(this.limits.memoryBytes);
      runtime.setMaxStackSize(this.limits.stackBytes);
      const deadline = performance.now() + PARSE_TIME_MS;
      runtime.setInterruptHandler(() => performance.now() > deadline);
      const context = runtime.newContext();
      try {
        const result = context.evalCode(wrapSource(source), CODE_FILE, { compileOnly: true });
        if (!result.error) {
          result.value.dispose();
          return undefined;
        }
        const error = context.dump(result.error) as { message?: unknown; stack?: unknown } | undefined;
        result.error.dispose();
        const position = positionIn(typeof error?.stack === 'string' ? error.stack : '') ?? { line: 1 };
        const message = typeof error?.message === 'string' ? error.message : 'does not parse';
        return { message, ...position };
      } finally {
        context.dispose();
      }
    } finally {
      runtime.dispose();
    }
  }
}

/** One execution: a fresh runtime and context, driven through the prelude's functions. */
class Execution {
  private readonly logs: CodeLogLine[] = [];
  private logChars = 0;
  private droppedLines = 0;
  private deadline = 0;
  private interrupted = false;

  constructor(
    private readonly module: QuickJSWASMModule,
    private readonly limits: Readonly<CodeLimits>,
  ) {}

  run(source: string, argsText: string): CodeOutcome {
    const runtime = this.module.newRuntime();
    runtime.setMemoryLimit(this.limits.memoryBytes);
    runtime.setMaxStackSize(this.limits.stackBytes);
    runtime.setInterruptHandler(() => {
      if (performance.now() <= this.deadline) return false;
      this.interrupted = true;
      return true;
    });
    const context = runtime.newContext();
    const handles: QuickJSHandle[] = [];
    const own = <T extends QuickJSHandle>(handle: T): T => {
      handles.push(handle);
      return handle;
    };
    try {
      // The prelude is Trellis's own code: it gets the whole budget before the user's starts.
      this.deadline = performance.now() + this.limits.timeoutMs;
      const host = own(context.newObject());
      for (const [name, fn] of Object.entries({ ...createCodeLibrary(), log: this.log, tick: this.tick })) {
        const handle = context.newFunction(name, hostFunction(context, name, fn));
        context.setProp(host, name, handle);
        handle.dispose();
      }
      const install = own(context.unwrapResult(context.evalCode(PRELUDE, 'prelude.js', { type: 'global' })));
      const kit = own(context.unwrapResult(context.callFunction(install, context.undefined, host)));
      const [runFn, marshalFn, describeFn] = ['run', 'marshal', 'describe'].map((name) => own(context.getProp(kit, name)));
      const describe = (error: QuickJSHandle) => this.describe(context, runtime, describeFn!, kit, error);

      this.deadline = performance.now() + this.limits.timeoutMs;
      const compiled = context.evalCode(wrapSource(source), CODE_FILE, { type: 'global' });
      if (compiled.error) return this.fail(own(compiled.error), describe, 'CODE_SYNTAX_ERROR');
      const fn = own(compiled.value);
      const called = context.callFunction(runFn!, kit, fn, own(context.newString(argsText)));
      if (called.error) return this.fail(own(called.error), describe);
      let result = own(called.value);
      const settled = this.settle(context, runtime, result);
      if ('error' in settled) return this.fail(own(settled.error), describe);
      // A job interrupted by the deadline does not always surface as an error of the promise.
      if (this.interrupted) return this.timedOut();
      if ('pending' in settled) {
        return this.failure(new CodeStepError('CODE_INVALID_OUTPUT', 'the result is a promise that never settles: there is nothing to wait for in a code step (no timers, no I/O)'));
      }
      result = own(settled.value);
      const marshalled = context.callFunction(marshalFn!, kit, result);
      if (marshalled.error) return this.fail(own(marshalled.error), describe, 'CODE_INVALID_OUTPUT');
      const text = own(marshalled.value);
      if (context.typeof(text) !== 'string') return this.failure(new CodeStepError('CODE_INVALID_OUTPUT', 'the result cannot be written as JSON'));
      const length = context.getNumber(own(context.getProp(text, 'length')));
      if (length > this.limits.outputChars) {
        return this.failure(new CodeStepError('CODE_OUTPUT_TOO_LARGE', `the result is ${length} characters of JSON; the limit is ${this.limits.outputChars}`));
      }
      if (this.interrupted) return this.timedOut();
      return { ok: true, output: JSON.parse(context.getString(text)) as unknown, logs: this.finalLogs() };
    } finally {
      for (const handle of handles.reverse()) if (handle.alive) handle.dispose();
      context.dispose();
      runtime.dispose();
    }
  }

  /** A promise's settled value (after running the jobs it waits on); anything else as it is. */
  private settle(context: QuickJSContext, runtime: QuickJSRuntime, value: QuickJSHandle): { value: QuickJSHandle } | { error: QuickJSHandle } | { pending: true } {
    // QuickJS's own check: no user code (a replaced `Promise`, a `then` getter) runs here.
    const first = context.getPromiseState(value);
    if (first.type === 'fulfilled' && first.notAPromise) return { value: value.dup() };
    if (first.type === 'fulfilled') first.value.dispose();
    else if (first.type === 'rejected') first.error.dispose();
    const jobs = runtime.executePendingJobs(-1);
    if (jobs.error) return { error: jobs.error };
    const state = context.getPromiseState(value);
    if (state.type === 'pending') return { pending: true };
    if (state.type === 'rejected') return { error: state.error };
    return { value: state.value };
  }

  /**
   * Called by the prelude's wrapper of every built-in method: QuickJS consults the interrupt
   * handler only every ten thousand or so calls and loop iterations, and a built-in such as
   * `"x".repeat(1 << 23)` does milliseconds of work within one, so a loop of them would overrun
   * the deadline by minutes. Past the deadline every built-in call throws at once.
   */
  private readonly tick: HostFunction = () => {
    if (performance.now() <= this.deadline) return 0;
    this.interrupted = true;
    throw new RangeError(TICK_INTERRUPTED);
  };

  private readonly log: HostFunction = (level, message) => {
    const known = (LOG_LEVELS as readonly HostValue[]).includes(level) ? (level as LogLevel) : 'info';
    const text = String(message);
    if (this.logs.length >= MAX_LOG_LINES || this.logChars >= MAX_LOG_CHARS) {
      this.droppedLines += 1;
      return 0;
    }
    const kept = text.slice(0, MAX_LOG_CHARS - this.logChars);
    this.logChars += kept.length;
    this.logs.push({ level: known, message: kept.length < text.length ? `${kept}… (cut at ${MAX_LOG_CHARS} characters of console output)` : kept });
    return 0;
  };

  private finalLogs(): CodeLogLine[] {
    if (this.droppedLines === 0) return this.logs;
    return [...this.logs, { level: 'warn', message: `${this.droppedLines} more console line(s) dropped: a code step keeps ${MAX_LOG_LINES} lines, ${MAX_LOG_CHARS} characters` }];
  }

  private timedOut(): CodeOutcome {
    return this.failure(new CodeStepError('CODE_TIMEOUT', `the code ran longer than its CPU time limit of ${this.limits.timeoutMs} ms`));
  }

  private failure(error: CodeStepError): CodeOutcome {
    return { ok: false, error, logs: this.finalLogs() };
  }

  /** Classifies what the code threw: a limit it hit, or its own error with its line. */
  private fail(thrown: QuickJSHandle, describe: (error: QuickJSHandle) => Described | undefined, fallback: 'CODE_ERROR' | 'CODE_SYNTAX_ERROR' | 'CODE_INVALID_OUTPUT' = 'CODE_ERROR'): CodeOutcome {
    if (this.interrupted) return this.timedOut();
    const described = describe(thrown);
    if (described?.error) {
      const position = positionIn(described.stack);
      if (described.name === 'InternalError' && described.message === 'out of memory') {
        return this.failure(new CodeStepError('CODE_MEMORY_LIMIT', `the code used more than its memory limit of ${this.limits.memoryBytes / (1024 * 1024)} MiB`, position));
      }
      if (described.name === 'InternalError' && described.message === 'stack overflow') {
        return this.failure(new CodeStepError('CODE_STACK_OVERFLOW', `the code recursed past its stack limit of ${this.limits.stackBytes / 1024} KiB`, position));
      }
      if (described.name === 'InternalError' && described.message === 'interrupted') return this.timedOut();
      const at = position ? ` (line ${position.line}${position.column === undefined ? '' : `, column ${position.column}`})` : '';
      const code = fallback === 'CODE_SYNTAX_ERROR' && described.name !== 'SyntaxError' ? 'CODE_ERROR' : fallback;
      return this.failure(new CodeStepError(code, `${described.name}: ${described.message}${at}`, position));
    }
    const value = described ? described.value : 'a value that could not be described';
    return this.failure(new CodeStepError(fallback === 'CODE_SYNTAX_ERROR' ? 'CODE_ERROR' : fallback, `the code threw a value that is not an Error: ${value.slice(0, MAX_ERROR_TEXT)}`));
  }

  /** Reads a thrown value with the prelude's `describe`, within a small extra allowance of time and memory. */
  private describe(context: QuickJSContext, runtime: QuickJSRuntime, describeFn: QuickJSHandle, kit: QuickJSHandle, error: QuickJSHandle): Described | undefined {
    this.deadline = performance.now() + DESCRIBE_GRACE_MS;
    runtime.setMemoryLimit(this.limits.memoryBytes + DESCRIBE_MEMORY_BYTES);
    const result = context.callFunction(describeFn, kit, error);
    if (result.error) {
      result.error.dispose();
      return undefined;
    }
    try {
      if (context.typeof(result.value) !== 'string') return undefined;
      return JSON.parse(context.getString(result.value)) as Described;
    } finally {
      result.value.dispose();
    }
  }
}

type Described = { error: true; name: string; message: string; stack: string } | { error: false; value: string };

/** The first position in the user's code a QuickJS stack names (`at f (code.js:4:9)`), in source lines. */
function positionIn(stack: string): SourcePosition | undefined {
  const match = new RegExp(`${CODE_FILE.replace('.', '\\.')}:(\\d+)(?::(\\d+))?`).exec(stack);
  if (!match) return undefined;
  const line = Math.max(1, Number(match[1]) - SOURCE_LINE_OFFSET);
  return match[2] === undefined ? { line } : { line, column: Number(match[2]) };
}

/** A host function for the guest: string and number arguments only; a host error becomes a guest TypeError or RangeError. */
function hostFunction(context: QuickJSContext, name: string, fn: HostFunction) {
  return (...handles: QuickJSHandle[]): VmCallResult<QuickJSHandle> => {
    try {
      const args = handles.map((handle): HostValue => {
        const type = context.typeof(handle);
        if (type === 'string') return context.getString(handle);
        if (type === 'number') return context.getNumber(handle);
        throw new TypeError(`lib.${name}: arguments are strings or numbers, got a ${type}`);
      });
      const result = fn(...args);
      return { value: typeof result === 'string' ? context.newString(result) : context.newNumber(result) };
    } catch (err) {
      // Only the name and message cross: a host stack would show the worker's file paths.
      const error = err instanceof Error ? err : new Error(String(err));
      const message = error.message === TICK_INTERRUPTED ? error.message : `lib.${name}: ${error.message}`.replace(/^lib\.\w+: lib\./, 'lib.');
      return { error: context.newError({ name: error instanceof RangeError ? 'RangeError' : 'TypeError', message }) };
    }
  };
}
