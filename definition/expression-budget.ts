import { ceil, floor, hasOwn, isArray, max, min, objectValues } from './intrinsics';

/**
 * What one evaluation may spend. Counted, never timed: the clock does not advance inside a
 * Temporal workflow activation, and a count gives the same verdict on every replay.
 */
export interface ExpressionLimits {
  /**
   * Work units: one per call the evaluator makes (every nested evaluation, function application,
   * built-in call, comparison of a sort…), plus the linear work of built-in functions, one unit
   * per {@link WORK_UNIT_CHARS} characters or {@link WORK_UNIT_ITEMS} items they go through, and
   * regex searches by characters times program size (see `re2-regexp.ts`). Endless loops,
   * tail-recursive ones included, end here.
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
export const BUDGET_LIMITS = ['steps', 'depth', 'bytes', 'string', 'sequence', 'argument', 'shared'] as const;
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

/** What several evaluations spend together (see {@link SharedBudget}). */
export type SharedLimits = Pick<ExpressionLimits, 'maxSteps' | 'maxBytes'>;

/**
 * Steps and bytes that several evaluations share, on top of each one's own limits: in the
 * workflow, all the evaluations of one workflow task, so that many steps evaluating at once
 * cannot hold one activation for longer than one evaluation may.
 */
export class SharedBudget {
  steps = 0;
  bytes = 0;

  constructor(
    readonly limits: SharedLimits,
    /** What shares it, for error messages (e.g. "this workflow task"). */
    readonly scope: string,
  ) {}
}

/** The running account of one evaluation. */
export class EvaluationBudget {
  steps = 0;
  bytes = 0;
  /** Steps and bytes this evaluation may spend: its own limits, or less when a shared budget has less left. */
  private readonly stepLimit: number;
  private readonly byteLimit: number;
  /** The first limit exceeded; from then on every charge throws it again. */
  exceeded: BudgetExceeded | undefined;
  // Strong sets, not weak ones: they live as long as the budget (one evaluation or one workflow
  // activation), hold only what was charged (bounded by the budget), and weak collections cost
  // the garbage collector far more on this hot path.
  /** Arrays and objects already charged (each is charged once, however often it is returned). */
  private readonly charged = new Set<object>();
  /** Deep sizes already measured (see {@link deepSize}). */
  private readonly sizes = new Map<object, ValueSize>();
  /** Length of the last string each operand of a `&` evaluated to (see the engine's exit hook). */
  readonly operandLengths = new Map<object, number>();

  /**
   * @param shared what this evaluation shares with others: it may spend at most what is left of
   * it, and {@link settleShared} adds what it spent.
   */
  constructor(
    readonly limits: ExpressionLimits,
    readonly shared?: SharedBudget,
  ) {
    this.stepLimit = shared ? min(limits.maxSteps, shared.limits.maxSteps - shared.steps) : limits.maxSteps;
    this.byteLimit = shared ? min(limits.maxBytes, shared.limits.maxBytes - shared.bytes) : limits.maxBytes;
  }

  /** Adds what this evaluation spent to its shared budget (call once, when it ends, however it ends). */
  settleShared(): void {
    if (!this.shared) return;
    this.shared.steps += min(this.steps, this.stepLimit + 1);
    this.shared.bytes += min(this.bytes, this.byteLimit + 1);
  }

  /** Charges `units` work units. */
  step(units = 1): void {
    this.steps += units;
    if (this.steps > this.stepLimit || this.exceeded) this.failSteps();
  }

  private failSteps(): never {
    if (this.stepLimit < this.limits.maxSteps && !this.exceeded) {
      const { shared } = this;
      this.fail('shared', `the expressions of ${shared!.scope} exceeded ${shared!.limits.maxSteps} evaluation steps together (too many steps evaluating too much at once)`);
    }
    this.fail('steps', `exceeded ${this.limits.maxSteps} evaluation steps (an endless loop or too much work)`);
  }

  /**
   * Refuses work of `units` that would not fit in the steps left (checked before work that cannot
   * be interrupted once started, such as a regex search over a long string); charges nothing.
   */
  affordSearch(units: number): void {
    if (this.steps + units > this.stepLimit || this.exceeded) this.failSteps();
  }

  /** Charges `count` bytes built. */
  allocate(count: number): void {
    this.bytes += count;
    if (this.bytes > this.byteLimit || this.exceeded) {
      if (this.byteLimit < this.limits.maxBytes && !this.exceeded) {
        const { shared } = this;
        this.fail('shared', `the expressions of ${shared!.scope} built more than ${shared!.limits.maxBytes} bytes of values together (too many steps evaluating too much at once)`);
      }
      this.fail('bytes', `built more than ${this.limits.maxBytes} bytes of values`);
    }
  }

  /** Checks and charges a string about to be built, or just built, of `length` characters. */
  string(length: number): void {
    if (length > this.limits.maxStringLength) {
      this.fail('string', `a string of ${length} characters exceeds the longest string an expression may build (${this.limits.maxStringLength} characters)`);
    }
    this.allocate(length * 2);
    this.step(floor(length / WORK_UNIT_CHARS));
  }

  /**
   * Checks a string `&` built of `length` characters, charging only `added` of them: the result
   * shares its operands' characters (a rope) until something reads it whole, which is charged then.
   */
  concatenated(length: number, added: number): void {
    if (length > this.limits.maxStringLength) {
      this.fail('string', `a string of ${length} characters exceeds the longest string an expression may build (${this.limits.maxStringLength} characters)`);
    }
    this.allocate(added * 2);
  }

  /** Checks and charges an array about to be built of `length` items. */
  array(length: number): void {
    if (length > this.limits.maxSequence) {
      this.fail('sequence', `an array of ${length} items exceeds the longest an expression may build (${this.limits.maxSequence} items)`);
    }
    this.allocate(length * 8);
    this.step(floor(length / WORK_UNIT_ITEMS));
  }

  /**
   * Charges a value an evaluation produced: a string by its length; an array or object, once,
   * by its own slots (its members were charged when they were built). Arrays of at most one item
   * (jsonata wraps most results in one) are charged every time they are returned: cheaper than
   * remembering them, and they cost at most 8 bytes per evaluation step.
   */
  value(value: unknown): void {
    if (typeof value === 'string') {
      this.string(value.length);
    } else if (typeof value === 'object' && value !== null && !isFunctionLike(value)) {
      // Function values (closures, tail-call thunks) are small and made one per step: not charged.
      if (isArray(value) && value.length <= 1) {
        this.allocate(value.length * 8);
        return;
      }
      if (this.charged.has(value)) return;
      this.charged.add(value);
      if (isArray(value)) {
        this.array(value.length);
      } else {
        let properties = 0;
        for (const key in value) if (hasOwn(value, key)) properties++;
        this.allocate(properties * 16);
        this.step(floor(properties / WORK_UNIT_ITEMS));
      }
    }
  }

  /**
   * The size of a value as a tree (nodes, characters of strings, depth), measured once per array
   * or object and remembered, so that an operation over the same big value in a loop costs its
   * size every time without measuring it every time. Charges the measuring itself as work.
   */
  deepSize(value: unknown): ValueSize {
    if (value === null || typeof value !== 'object' || isFunctionLike(value)) return { nodes: 1, chars: typeof value === 'string' ? value.length : 0, depth: 0 };
    const known = this.sizes.get(value);
    if (known) return known;
    // Post-order without recursion: a value may be nested deeper than the JavaScript stack.
    const pending: SizeFrame[] = [this.openSize(value)];
    let result: ValueSize | undefined;
    while (pending.length > 0) {
      const frame = pending[pending.length - 1]!;
      const { children, size } = frame;
      while (frame.index < children.length) {
        const child = children[frame.index++];
        if (child === null || typeof child !== 'object' || isFunctionLike(child)) {
          size.nodes++;
          if (typeof child === 'string') size.chars += child.length;
          continue;
        }
        const childSize = this.sizes.get(child);
        if (childSize === undefined) {
          pending.push(this.openSize(child));
          break;
        }
        add(size, childSize);
      }
      if (pending[pending.length - 1] !== frame) continue;
      pending.pop();
      this.sizes.set(frame.node, size);
      result = size;
      const parent = pending[pending.length - 1];
      if (parent) add(parent.size, size);
    }
    return result!;
  }

  private openSize(node: object): SizeFrame {
    const children = isArray(node) ? node : objectValues(node);
    this.step(ceil(children.length / WORK_UNIT_ITEMS));
    return { node, children, index: 0, size: { nodes: 1, chars: 0, depth: 1 } };
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

interface SizeFrame {
  node: object;
  children: unknown[];
  index: number;
  size: ValueSize;
}

/** A value measured as a tree: shared parts count as often as they appear. */
export interface ValueSize {
  nodes: number;
  chars: number;
  depth: number;
}

/** A jsonata function value (lambda or built-in): measured as one node, never walked into. */
function isFunctionLike(value: object): boolean {
  const marked = value as { _jsonata_lambda?: unknown; _jsonata_function?: unknown };
  return marked._jsonata_lambda === true || marked._jsonata_function === true;
}

function add(parent: ValueSize, child: ValueSize): void {
  parent.nodes += child.nodes;
  parent.chars += child.chars;
  parent.depth = max(parent.depth, child.depth + 1);
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

/**
 * Charges one step to the current budget: called by the synchronous jsonata build at every call
 * of a converted function (every nested evaluation, function application, built-in call…).
 * @throws {BudgetExceeded} past the step limit; an Error outside an evaluation.
 */
export function chargeStep(): void {
  const budget = current;
  if (budget === undefined) throw new Error('a synchronous expression was evaluated outside an evaluation budget');
  budget.step();
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
