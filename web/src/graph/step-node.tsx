import { Handle, Position, type NodeProps, type Node } from '@xyflow/react';
import { memo } from 'react';
import type { StepStatus } from '../types';

/** What one step box shows. */
export type StepNodeData = {
  stepId: string;
  stepType: string;
  status?: StepStatus;
  attempts?: number;
  /** Why it was skipped, its error, or its validation problems. */
  note?: string;
  items?: { done: number; total: number } | null;
  compensable: boolean;
  invalid?: boolean;
  selected?: boolean;
};

export type StepNodeType = Node<StepNodeData, 'step'>;

const STATUS_LABELS: Partial<Record<StepStatus, string>> = {
  COMPENSATED: '↺ COMPENSATED',
  COMPENSATION_FAILED: '↺ COMPENSATION FAILED',
  WAITING: '⏸ WAITING',
};

/** A step of the graph: its id, type and status, coloured by status (RUNNING pulses). */
export const StepNode = memo(function StepNode({ data }: NodeProps<StepNodeType>) {
  const status = data.status;
  const classes = ['step', status ? `status-${status.toLowerCase()}` : 'status-none'];
  if (data.invalid) classes.push('invalid');
  if (data.selected) classes.push('selected');
  return (
    <div className={classes.join(' ')} data-step={data.stepId} data-status={status ?? ''} title={data.note}>
      <Handle type="target" position={Position.Top} isConnectable={false} />
      <div className="step-head">
        <span className="step-id">{data.stepId}</span>
        <span className="step-type">{data.stepType}</span>
      </div>
      <div className="step-foot">
        {status && <span className="step-status">{STATUS_LABELS[status] ?? status}</span>}
        {data.items && (
          <span className="step-items" data-items>
            {data.items.done}/{data.items.total}
          </span>
        )}
        {(data.attempts ?? 0) > 1 && <span className="step-attempts">×{data.attempts}</span>}
        {data.compensable && <span className="step-compensable" title="has a compensate action">↺</span>}
      </div>
      {data.note && <div className="step-note">{data.note}</div>}
      <Handle type="source" position={Position.Bottom} isConnectable={false} />
    </div>
  );
});
