import type { Definition } from '../../definition/definition-schema';
import { NO_TASK_QUEUES, refusedTaskQueues, taskQueueProblem } from '../../definition/task-queues';

const policy = { allowed: ['fast', 'slow'], byStepType: {} };

describe('taskQueueProblem', () => {
  it('allows a listed queue and refuses others, names that are no queue, and every queue under no policy', () => {
    expect(taskQueueProblem('fast', policy)).toBeUndefined();
    expect(taskQueueProblem('elsewhere', policy)).toBe('task queue "elsewhere" is not one this deployment lets steps name; allowed: fast, slow');
    expect(taskQueueProblem('bad queue', policy)).toMatch(/^invalid task queue "bad queue"/);
    expect(taskQueueProblem('fast', NO_TASK_QUEUES)).toMatch(/lets no step choose its task queue/);
  });
});

describe('refusedTaskQueues', () => {
  const definition = {
    name: 'routed',
    steps: {
      here: { type: 'transform', value: 1 },
      fast: { type: 'http', url: 'https://example.test', taskQueue: 'fast' },
      gone: { type: 'http', url: 'https://example.test', taskQueue: 'removed' },
      each: {
        type: 'map',
        items: '{% [1] %}',
        taskQueue: 'slow',
        do: { steps: { inner: { type: 'http', url: 'https://example.test', taskQueue: 'removed-too' } } },
      },
    },
  } as unknown as Definition;

  it("lists every step naming a queue the policy does not allow, a map's inline steps included, at its taskQueue", () => {
    expect(refusedTaskQueues(definition, policy)).toEqual([
      { path: '/steps/gone/taskQueue', message: 'task queue "removed" is not one this deployment lets steps name; allowed: fast, slow' },
      { path: '/steps/each/do/steps/inner/taskQueue', message: 'task queue "removed-too" is not one this deployment lets steps name; allowed: fast, slow' },
    ]);
  });

  it('lists nothing when every named queue is allowed, or no step names one', () => {
    expect(refusedTaskQueues(definition, { allowed: ['fast', 'slow', 'removed', 'removed-too'], byStepType: {} })).toEqual([]);
    expect(refusedTaskQueues({ name: 'plain', steps: { here: { type: 'transform', value: 1 } } } as unknown as Definition, NO_TASK_QUEUES)).toEqual([]);
  });
});
