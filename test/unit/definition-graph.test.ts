import { ancestors, dependents, findCycles, roots, topologicalOrder } from '../../definition/definition-graph';
import { childWorkflows, embeddedJsonSchemas, walkSteps } from '../../definition/definition-walk';
import { definitionSchema } from '../../definition/definition-schema';

const diamond = {
  d: { needs: ['b', 'c'] },
  b: { needs: ['a'] },
  c: { needs: ['a', 'missing'] },
  a: {},
};

describe('definition graph', () => {
  it('orders steps after the steps they need, keeping declaration order among ready steps', () => {
    expect(topologicalOrder(diamond)).toEqual(['a', 'b', 'c', 'd']);
    expect(topologicalOrder({ x: {}, y: {}, z: { needs: ['y'] } })).toEqual(['x', 'y', 'z']);
  });

  it('refuses to order a cycle', () => {
    expect(() => topologicalOrder({ a: { needs: ['b'] }, b: { needs: ['a'] } })).toThrow('steps form a cycle: a, b');
  });

  it('finds everything upstream of a step, ignoring needs that name no step', () => {
    expect([...ancestors(diamond, 'd')].sort()).toEqual(['a', 'b', 'c']);
    expect(ancestors(diamond, 'a').size).toBe(0);
  });

  it('lists roots and direct dependents', () => {
    expect(roots(diamond)).toEqual(['a']);
    expect(dependents(diamond).get('a')).toEqual(['b', 'c']);
  });

  it('reports each cycle once, including a step needing itself', () => {
    expect(findCycles({ a: { needs: ['b'] }, b: { needs: ['a'] }, c: { needs: ['c'] } })).toEqual([
      ['a', 'b', 'a'],
      ['c', 'c'],
    ]);
    expect(findCycles(diamond)).toEqual([]);
  });
});

describe('definition walk', () => {
  const definition = definitionSchema.parse({
    name: 'walk',
    input: { type: 'object' },
    steps: {
      child: { type: 'workflow', definition: 'child', version: 3, output: { type: 'object' } },
      each: {
        type: 'map',
        items: '{% [1] %}',
        do: {
          steps: {
            inner: {
              type: 'http',
              url: 'x',
              compensate: { type: 'workflow', definition: 'undo' },
            },
          },
        },
      },
      many: { type: 'map', items: '{% [1] %}', do: { type: 'workflow', definition: 'per-item' } },
    },
  });

  it('visits nested steps with their pointers and depth', () => {
    expect([...walkSteps(definition.steps)].map(({ id, pointer, depth }) => [id, pointer, depth])).toEqual([
      ['child', '/steps/child', 1],
      ['each', '/steps/each', 1],
      ['inner', '/steps/each/do/steps/inner', 2],
      ['many', '/steps/many', 1],
    ]);
  });

  it('lists every child workflow a definition may start', () => {
    expect(childWorkflows(definition)).toEqual([
      { pointer: '/steps/child', definition: 'child', version: 3 },
      { pointer: '/steps/each/do/steps/inner/compensate', definition: 'undo', version: 'latest' },
      { pointer: '/steps/many/do', definition: 'per-item', version: 'latest' },
    ]);
  });

  it('lists the embedded JSON Schemas', () => {
    expect(embeddedJsonSchemas(definition).map((found) => found.pointer)).toEqual(['/input', '/steps/child/output']);
  });
});
