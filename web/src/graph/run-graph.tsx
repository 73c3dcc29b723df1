import '@xyflow/react/dist/style.css';
import { Background, Controls, ReactFlow, ReactFlowProvider, useNodesInitialized, useReactFlow, type Edge, type NodeChange, type NodeMouseHandler } from '@xyflow/react';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { DefinitionDocument, StepState } from '../types';
import { NODE_HEIGHT, NODE_WIDTH, graphShapeKey, layoutDefinition } from './definition-graph';
import { StepNode, type StepNodeType } from './step-node';

const NODE_TYPES = { step: StepNode };
const INITIAL_SIZE = { width: NODE_WIDTH, height: NODE_HEIGHT };

export type RunGraphProps = {
  spec: DefinitionDocument | undefined;
  /** The run's step states; without them the graph shows the definition alone. */
  steps?: readonly StepState[];
  /** A line under a step: why it was skipped, its error, or its validation problems. */
  notes?: ReadonlyMap<string, string>;
  /** Steps the editor found problems in. */
  invalid?: ReadonlySet<string>;
  selected?: string | null;
  onSelect?: (stepId: string) => void;
};

/**
 * A definition's graph, laid out once per shape (so a status change moves nothing), each step
 * coloured by its status in the run.
 */
export function RunGraph(props: RunGraphProps) {
  return (
    <ReactFlowProvider>
      <Graph {...props} />
    </ReactFlowProvider>
  );
}

function Graph({ spec, steps, notes, invalid, selected, onSelect }: RunGraphProps) {
  const shape = graphShapeKey(spec);
  // Laid out again only when the shape changes: a status change moves nothing.
  const layout = useMemo(() => layoutDefinition(spec), [shape]); // spec is read through shape
  const byId = useMemo(() => new Map((steps ?? []).map((step) => [step.id, step])), [steps]);
  // React Flow draws a node once its size is known, and learns sizes only through onNodesChange:
  // nodes rebuilt on every status change must carry their measured size, or they stay hidden.
  const sizes = useRef(new Map<string, { width: number; height: number }>());
  const [sizesVersion, setSizesVersion] = useState(0);
  const onNodesChange = useCallback((changes: NodeChange<StepNodeType>[]) => {
    let changed = false;
    for (const change of changes) {
      if (change.type === 'dimensions' && change.dimensions) {
        sizes.current.set(change.id, change.dimensions);
        changed = true;
      }
    }
    if (changed) setSizesVersion((n) => n + 1);
  }, []);
  // A node object is made again only when what it shows changes: React Flow then redraws only
  // the steps that changed (a run of 200 steps updates one or two at a time).
  const made = useRef(new Map<string, { key: string; node: StepNodeType }>());
  const nodes: StepNodeType[] = useMemo(
    () =>
      layout.nodes.map((node) => {
        const state = byId.get(node.id);
        const data = {
          stepId: node.id,
          stepType: state?.type ?? node.type,
          status: state?.status,
          attempts: state?.attempts,
          items: state?.items,
          note: notes?.get(node.id),
          compensable: node.compensable,
          invalid: invalid?.has(node.id) ?? false,
          selected: selected === node.id,
        };
        // Every step box is drawn NODE_WIDTH × NODE_HEIGHT (styles.css): with that size given,
        // React Flow draws the boxes at once instead of hidden until it has measured them.
        const size = sizes.current.get(node.id) ?? INITIAL_SIZE;
        const key = JSON.stringify([data, node.x, node.y, size]);
        const previous = made.current.get(node.id);
        if (previous?.key === key) return previous.node;
        const fresh: StepNodeType = { id: node.id, type: 'step', position: { x: node.x, y: node.y }, measured: size, data };
        made.current.set(node.id, { key, node: fresh });
        return fresh;
      }),
    [layout, byId, notes, invalid, selected, sizesVersion],
  );
  const edges: Edge[] = useMemo(
    () =>
      layout.edges.map((edge) => {
        const target = byId.get(edge.target)?.status;
        return {
          id: edge.id,
          source: edge.source,
          target: edge.target,
          label: edge.label,
          animated: target === 'RUNNING',
          className: target === 'SKIPPED' ? 'edge-skipped' : undefined,
        };
      }),
    [layout, byId],
  );
  const onNodeClick: NodeMouseHandler = (_event, node) => onSelect?.(node.id);
  return (
    <ReactFlow
      nodes={nodes}
      edges={edges}
      nodeTypes={NODE_TYPES}
      onNodeClick={onNodeClick}
      onNodesChange={onNodesChange}
      nodesDraggable={false}
      nodesConnectable={false}
      edgesFocusable={false}
      minZoom={0.05}
      fitView
      proOptions={{ hideAttribution: true }}
    >
      <FitOnShapeChange shape={shape} />
      <Background gap={16} size={1} />
      <Controls showInteractive={false} />
    </ReactFlow>
  );
}

/**
 * Fits the view once the steps have been measured, and again when steps are added or removed (the
 * editor's preview). Fitting before they are measured would fit nothing and leave them out of view.
 */
function FitOnShapeChange({ shape }: { shape: string }) {
  const flow = useReactFlow();
  const measured = useNodesInitialized();
  useEffect(() => {
    if (measured) void flow.fitView({ maxZoom: 1.2, padding: 0.1 });
  }, [shape, measured, flow]);
  return null;
}
