import { layout as dagreLayout, graphlib } from '@dagrejs/dagre';
import type { DefinitionDocument } from '../types';

/** The size every step box is drawn at, in graph units. */
export const NODE_WIDTH = 190;
export const NODE_HEIGHT = 64;

export type GraphNode = { id: string; type: string; x: number; y: number; compensable: boolean; description?: string };
export type GraphEdge = { id: string; source: string; target: string; label?: 'then' | 'else' };
export type LaidOutGraph = { nodes: GraphNode[]; edges: GraphEdge[] };

/**
 * The steps of a definition as a graph laid out in layers (dagre), top to bottom: an edge from
 * each step to each step that needs it, labelled `then`/`else` out of a condition. Tolerates
 * documents being edited: needs naming missing steps are left out, cycles are still laid out.
 */
export function layoutDefinition(spec: DefinitionDocument | undefined): LaidOutGraph {
  const steps = spec?.steps && typeof spec.steps === 'object' && !Array.isArray(spec.steps) ? spec.steps : {};
  const ids = Object.keys(steps);
  const graph = new graphlib.Graph({ multigraph: false });
  graph.setGraph({ rankdir: 'TB', nodesep: 24, ranksep: 48, marginx: 8, marginy: 8 });
  graph.setDefaultEdgeLabel(() => ({}));
  for (const id of ids) graph.setNode(id, { width: NODE_WIDTH, height: NODE_HEIGHT });
  const edges: GraphEdge[] = [];
  for (const [id, step] of Object.entries(steps)) {
    const needs = Array.isArray(step?.needs) ? step.needs : [];
    for (const need of needs) {
      if (typeof need !== 'string' || !(need in steps) || need === id) continue;
      const from = steps[need]!;
      const label = Array.isArray(from.then) && from.then.includes(id) ? 'then' : Array.isArray(from.else) && from.else.includes(id) ? 'else' : undefined;
      edges.push({ id: `${need}->${id}`, source: need, target: id, ...(label ? { label } : {}) });
      graph.setEdge(need, id);
    }
  }
  dagreLayout(graph);
  const nodes = ids.map((id) => {
    const position = graph.node(id) as { x: number; y: number };
    const step = steps[id]!;
    return {
      id,
      type: typeof step?.type === 'string' ? step.type : '?',
      // dagre gives centres; React Flow places nodes by their top-left corner.
      x: position.x - NODE_WIDTH / 2,
      y: position.y - NODE_HEIGHT / 2,
      compensable: Boolean(step?.compensate),
      ...(typeof step?.description === 'string' ? { description: step.description } : {}),
    };
  });
  return { nodes, edges };
}

/** A key that changes when the graph's shape changes (steps, types, edges), not when statuses do. */
export function graphShapeKey(spec: DefinitionDocument | undefined): string {
  const steps = spec?.steps && typeof spec.steps === 'object' ? spec.steps : {};
  return JSON.stringify(Object.entries(steps).map(([id, step]) => [id, step?.type, step?.needs, step?.then, step?.else, Boolean(step?.compensate)]));
}
