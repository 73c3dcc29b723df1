import type { EvaluationBudget } from './expression-budget';

const generatorPrototype = Object.getPrototypeOf(function* () {
  /* only its prototype is used */
}).prototype as object;

/** True for a generator object, which the synchronous jsonata build yields for the driver to run. */
export function isGenerator(value: unknown): value is Generator {
  if (value === null || typeof value !== 'object') return false;
  const prototype = Object.getPrototypeOf(value) as object | null;
  return prototype !== null && Object.getPrototypeOf(prototype) === generatorPrototype;
}

/**
 * Frames the driver may hold at once, whatever the expression: a backstop under the budget's
 * depth (jsonata counts nested evaluations; one evaluation holds a handful of frames).
 */
export const MAX_DRIVER_FRAMES = 50_000;

/**
 * Runs a generator of the synchronous jsonata build to completion and returns its result, without
 * a promise and without recursion: generators it yields are pushed on an explicit stack and their
 * results sent back, so an evaluation as deep as its budget allows never deepens the JavaScript
 * stack. Every frame started is one step of `budget`.
 *
 * @throws whatever the evaluation throws; the budget's error when a limit was exceeded, even if
 * the evaluation caught it and carried on.
 */
export function drive(root: Generator, budget: EvaluationBudget): unknown {
  const stack: Generator[] = [root];
  let sent: unknown;
  let thrown: unknown;
  let throwing = false;
  for (;;) {
    const top = stack[stack.length - 1]!;
    let next: IteratorResult<unknown>;
    try {
      next = throwing ? top.throw(thrown) : top.next(sent);
    } catch (error) {
      stack.pop();
      if (stack.length === 0) throw budget.exceeded ?? error;
      thrown = error;
      throwing = true;
      continue;
    }
    throwing = false;
    if (next.done) {
      stack.pop();
      if (stack.length === 0) {
        if (budget.exceeded) throw budget.exceeded;
        return next.value;
      }
      sent = next.value;
      continue;
    }
    const yielded = next.value;
    if (!isGenerator(yielded)) {
      sent = yielded;
      continue;
    }
    try {
      budget.step();
      if (stack.length >= MAX_DRIVER_FRAMES) budget.refuse(`nested deeper than ${MAX_DRIVER_FRAMES} frames`);
    } catch (error) {
      // The frame is not started: the error surfaces where it would have been awaited.
      thrown = error;
      throwing = true;
      continue;
    }
    stack.push(yielded);
    sent = undefined;
  }
}
