/**
 * What one evaluation may spend. Counted, never timed: the clock does not advance inside a
 * Temporal workflow activation, and a count gives the same verdict on every replay.
 */
export interface ExpressionLimits {
  /**
   * Work units: one per evaluation frame the driver starts (every nested evaluation, function
   * call, regex match, comparison of a sort…), plus the linear work of built-in functions, one
   * unit per {@link WORK_UNIT_CHARS} characters or {@link WORK_UNIT_ITEMS} items they go through.
   * Endless loops, tail-recursive ones included, end here.
   */
  maxSteps: number;
  /** Nested evaluations (jsonata's own depth count): non-tail recursion ends here. */
  maxDepth: number;
  /**
   * Bytes of values built: strings at 2 bytes a character, arrays at 8 bytes an item, objects at
   * 16 bytes a property, each counted once when built (and inputs the first time they are
   * returned), whether or not they are kept. Checked before a built-in allocates when its size
   * can be known in advance (`$pad`, `$join`, `$string`, `$append`…).
   */
  maxBytes: number;
  /** Longest string one value may be, in UTF-16 code units. */
  maxStringLength: number;
  /** Longest array (sequence, range) jsonata may build; checked before it allocates. */
  maxSequence: number;
}

/** Characters a built-in goes through per work unit. */
export const WORK_UNIT_CHARS = 256;
/** Array items or object properties a built-in goes through per work unit. */
export const WORK_UNIT_ITEMS = 32;

/** The limits an evaluation ran out of. */
export const BUDGET_LIMITS = ['steps', 'depth', 'bytes', 'string', 'sequence', 'argument'] as const;
export type BudgetLimit = (typeof BUDGET_LIMITS)[number];

/**
 * Thrown inside an evaluation when it exceeds a limit. Budget errors are sticky: once one is
 * raised, the evaluation fails with it even if jsonata code caught it and carried on.
 */
export class BudgetExceeded extends Error {
  constructor(
    readonly limit: BudgetLimit,
    message: string,
  ) {
    super(message);
    this.name = 'BudgetExceeded';
  }
}

/** The running account of one evaluation. */
export class EvaluationBudget {
  steps = 0;
  bytes = 0;
  /** The first limit exceeded; from then on every charge throws it again. */
  exceeded: BudgetExceeded | undefined;
  /** Arrays and objects already charged (each is charged once, however often it is returned). */
  private readonly charged = new WeakSet<object>();

  constructor(readonly limits: ExpressionLimits) {}

  /** Charges `units` work units. */
  step(units = 1): void {
    this.steps += units;
    if (this.steps > this.limits.maxSteps || this.exceeded) {
      this.fail('steps', `exceeded ${this.limits.maxSteps} evaluation steps (an endless loop or too much work)`);
    }
  }

  /** Charges `count` bytes built. */
  allocate(count: number): void {
    this.bytes += count;
    if (this.bytes > this.limits.maxBytes || this.exceeded) {
      this.fail('bytes', `built more than ${this.limits.maxBytes} bytes of values`);
    }
  }

  /** Checks and charges a string about to be built, or just built, of `length` characters. */
  string(length: number): void {
    if (length > this.limits.maxStringLength) {
      this.fail('string', `a string of ${length} characters exceeds the longest string an expression may build (${this.limits.maxStringLength} characters)`);
    }
    this.allocate(length * 2);
    this.step(Math.floor(length / WORK_UNIT_CHARS));
  }

  /** Checks and charges an array about to be built of `length` items. */
  array(length: number): void {
    if (length > this.limits.maxSequence) {
      this.fail('sequence', `an array of ${length} items exceeds the longest an expression may build (${this.limits.maxSequence} items)`);
    }
    this.allocate(length * 8);
    this.step(Math.floor(length / WORK_UNIT_ITEMS));
  }

  /**
   * Charges a value an evaluation produced: a string by its length; an array or object, once,
   * by its own slots (its members were charged when they were built).
   */
  value(value: unknown): void {
    if (typeof value === 'string') {
      this.string(value.length);
    } else if (typeof value === 'object' && value !== null && !this.charged.has(value)) {
      this.charged.add(value);
      if (Array.isArray(value)) {
        this.array(value.length);
      } else {
        let properties = 0;
        for (const key in value) if (Object.hasOwn(value, key)) properties++;
        this.allocate(properties * 16);
        this.step(Math.floor(properties / WORK_UNIT_ITEMS));
      }
    }
  }

  /** Refuses an argument that would make a built-in loop or allocate without bound. */
  refuse(message: string): never {
    this.fail('argument', message);
  }

  private fail(limit: BudgetLimit, message: string): never {
    this.exceeded ??= new BudgetExceeded(limit, message);
    throw this.exceeded;
  }
}

let current: EvaluationBudget | undefined;

/**
 * The budget of the evaluation running now. Evaluation is synchronous, so exactly one can run at
 * a time in a thread; the guards of built-in functions find their budget here, out of reach of
 * anything an expression can name.
 */
export function currentBudget(): EvaluationBudget | undefined {
  return current;
}

/** Runs `evaluate` with `budget` as the current budget, restoring the previous one after. */
export function withBudget<T>(budget: EvaluationBudget, evaluate: () => T): T {
  const previous = current;
  current = budget;
  try {
    return evaluate();
  } finally {
    current = previous;
  }
}
