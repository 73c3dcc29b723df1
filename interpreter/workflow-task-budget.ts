import { workflowInfo } from '@temporalio/workflow';
import { SharedBudget } from '../definition/expression-budget';
import { WORKFLOW_TASK_EXPRESSION_LIMITS } from '../definition/expression-limits';

/**
 * The expression budget all the evaluations of one workflow task share (see
 * `WORKFLOW_TASK_EXPRESSION_LIMITS`): many steps that start together, or one step after another
 * within one task, cannot together hold the workflow thread longer than the limits allow.
 *
 * A workflow task is recognised by `workflowInfo().historyLength`, which changes only when a new
 * workflow task starts and is the same on every replay (Temporal documents it as safe to decide
 * on): the budget, and so whether a step runs out of it, is deterministic. Local activities that
 * complete while a task is open (audit writes) keep it open: their activations share its budget.
 * One per workflow execution, never module state: the workflows of a worker share their modules.
 */
export class WorkflowTaskBudget {
  private historyLength = -1;
  private shared: SharedBudget | undefined;

  /** The budget of the workflow task running now. */
  current(): SharedBudget {
    const { historyLength } = workflowInfo();
    if (this.shared === undefined || historyLength !== this.historyLength) {
      this.historyLength = historyLength;
      this.shared = new SharedBudget(WORKFLOW_TASK_EXPRESSION_LIMITS, 'this workflow task');
    }
    return this.shared;
  }
}
