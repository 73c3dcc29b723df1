import type { EvaluationBudget } from './expression-budget';
import { getPrototypeOf } from './intrinsics';

const generatorPrototype = getPrototypeOf(function* () {
  /* only its prototype is used */
}).prototype as object;

/** True for a generator object, which the synchronous jsonata build returns past its plain call depth. */
export function isGenerator(value: unknown): value is Generator {
  if (value === null || typeof value !== 'object') return false;
  const prototype = getPrototypeOf(value) as object | null;
  return prototype !== null && getPrototypeOf(prototype) === generatorPrototype;
}

/**
 * Frames one driver may hold at once, whatever the expression: a backstop under the budget's
 * depth (jsonata counts nested evaluations; one evaluation holds a handful of frames).
 */
export const MAX_DRIVER_FRAMES = 50_000;

/**
 * Runs a generator of the synchronous jsonata build to completion and returns its result, without
 * a promise and without recursion: generators it yields are pushed on an explicit stack and their
 * results sent back, so an evaluation as deep as its budget allows never deepens the JavaScript
 * stack. (Steps are charged where the build calls a converted function, not here.)
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
    if (stack.length >= MAX_DRIVER_FRAMES) {
      // The frame is not started: the error surfaces where it would have been awaited.
      try {
        budget.refuse(`nested deeper than ${MAX_DRIVER_FRAMES} frames`);
      } catch (error) {
        thrown = error;
        throwing = true;
        continue;
      }
    }
    stack.push(yielded);
    sent = undefined;
  }
}

/**
 * Finishes what an entry point of the synchronous jsonata build returned: a value as it is, a
 * generator (the evaluation went past the plain call depth) run by {@link drive}.
 *
 * @throws as {@link drive}; the budget's error when a limit was exceeded, even if the evaluation
 * caught it and returned a value.
 */
export function settle(result: unknown, budget: EvaluationBudget): unknown {
  if (isGenerator(result)) return drive(result, budget);
  if (budget.exceeded) throw budget.exceeded;
  return result;
}
