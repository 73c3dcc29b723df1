import { GraphQLError, buildSchema, getIntrospectionQuery, parse, specifiedRules, validate } from 'graphql';
import {
  CHECKED_DOCUMENTS,
  CHECKED_DOCUMENT_CHARS,
  OPERATION_LIMITS,
  PARSE_OPTIONS,
  introspectionDisabledRule,
  measureOperations,
  operationAliasesRule,
  operationCostRule,
  operationDepthRule,
  operationRootFieldsRule,
  operationRules,
  subscribeWithLimits,
  tokenLimitError,
} from '../../graphql/operation-limits';

// Recursive, unlike Trellis's schema, so that valid operations can nest as deep as a test needs.
const schema = buildSchema(`
  type Query { node: Node, nodes(first: Int): NodeConnection!, tags: [String!]! }
  type Node { name: String, child: Node, children(first: Int): NodeConnection!, siblings: [Node!]! }
  type NodeConnection { edges: [NodeEdge!]!, pageInfo: PageInfo! }
  type NodeEdge { cursor: String!, node: Node! }
  type PageInfo { hasNextPage: Boolean! }
`);

/** `{ node { child { child … { name } } } }`, `depth` fields deep. */
const chain = (depth: number) => `node { ${'child { '.repeat(depth - 2)}name${' }'.repeat(depth - 2)} }`;

const limits = (query: string, rules: Parameters<typeof validate>[2]) => validate(schema, parse(query), rules).map((e) => e.extensions.limit ?? e.message);
const depth = (query: string, max = 12) => limits(query, [operationDepthRule(max)]);
const cost = (query: string, variables: Record<string, unknown> = {}, max = 0) => {
  const [error] = validate(schema, parse(query), [operationCostRule(variables, max)]);
  return (error?.extensions.limit as { actual: number } | undefined)?.actual ?? 0;
};

describe('operationDepthRule', () => {
  it('accepts an operation 12 fields deep and refuses one 13 deep, naming both numbers', () => {
    expect(depth(`{ ${chain(12)} }`)).toEqual([]);
    expect(depth(`{ ${chain(13)} }`)).toEqual([{ name: 'depth', max: 12, actual: 13 }]);
    const [error] = validate(schema, parse(`{ ${chain(13)} }`), [operationDepthRule()]);
    expect(error!.message).toBe('operation too deep: its fields nest 13 levels, the limit is 12');
    expect(error!.extensions.code).toBe('BAD_USER_INPUT');
  });

  it('counts fields inside fragment spreads and inline fragments where they are used', () => {
    const query = `
      fragment Deep on Node { child { child { child { name } } } }
      { node { ... on Node { child { ...Deep } } } }`;
    expect(depth(query, 5)).toEqual([{ name: 'depth', max: 5, actual: 6 }]);
  });

  it('measures each operation of a document', () => {
    expect(depth(`query A { ${chain(3)} } query B { ${chain(8)} }`, 5)).toEqual([{ name: 'depth', max: 5, actual: 8 }]);
  });

  it('does not count meta fields: the standard introspection query passes', () => {
    expect(depth(`{ __typename ${chain(3)} }`, 3)).toEqual([]);
    expect(depth(getIntrospectionQuery())).toEqual([]);
  });

  it('stops at a fragment cycle, which graphql-js reports', () => {
    const query = `fragment A on Node { child { ...B } } fragment B on Node { child { ...A } } { node { ...A } }`;
    expect(validate(schema, parse(query), [...specifiedRules, operationDepthRule()]).map((e) => e.message)).toEqual([
      'Cannot spread fragment "A" within itself via "B".',
    ]);
  });
});

describe('operationCostRule', () => {
  it('costs every field 1 and multiplies what a paged list selects by its first', () => {
    expect(cost(`{ node { name child { name } } }`)).toBe(4);
    // nodes: 1 + 10 × (edges 1 + node (1 + name 1)) = 31
    expect(cost(`{ nodes(first: 10) { edges { node { name } } } }`)).toBe(31);
    expect(cost(`{ nodes(first: 10) { edges { node { children(first: 5) { edges { cursor } } } } } }`)).toBe(1 + 10 * (1 + 1 + (1 + 5 * 2)));
  });

  it('counts 100 items for an omitted first and for a list without first', () => {
    expect(cost(`{ nodes { edges { cursor } } }`)).toBe(1 + 100 * 2);
    expect(cost(`{ node { siblings { name } } }`)).toBe(1 + 1 + 100);
    expect(cost(`{ tags }`)).toBe(1);
  });

  it('reads first from the variables, else from the variable default, else counts 100', () => {
    const query = `query($n: Int, $m: Int = 7) { a: nodes(first: $n) { edges { cursor } } b: nodes(first: $m) { edges { cursor } } }`;
    expect(cost(query, { n: 3 })).toBe(1 + 3 * 2 + (1 + 7 * 2));
    expect(cost(query, { n: 3, m: 4 })).toBe(1 + 3 * 2 + (1 + 4 * 2));
    expect(cost(query, {})).toBe(1 + 100 * 2 + (1 + 7 * 2));
    expect(cost(query, { n: null, m: null })).toBe(2 * (1 + 100 * 2));
  });

  it('counts a first outside 1…1000 as 1000 at most (the resolver refuses it), and a non-number as 1000', () => {
    expect(cost(`{ nodes(first: 1000000) { edges { cursor } } }`)).toBe(1 + 1000 * 2);
    expect(cost(`query($n: Int) { nodes(first: $n) { edges { cursor } } }`, { n: 'lots' })).toBe(1 + 1000 * 2);
  });

  it('counts aliases and every spread of a fragment', () => {
    const fragment = `fragment F on Node { children(first: 10) { edges { cursor } } }`;
    expect(cost(`${fragment} { node { ...F ...F x: child { ...F } } }`)).toBe(1 + 3 * 21 + 1);
  });

  it('measures a fragment used at every level of a deep tree once, not exponentially often', () => {
    const levels = 40;
    const fragments = Array.from({ length: levels }, (_, i) => `fragment F${i + 1} on Node { a: child { ...F${i} } b: child { ...F${i} } }`);
    const query = `fragment F0 on Node { name } ${fragments.join(' ')} { node { ...F${levels} } }`;
    const started = Date.now();
    expect(cost(query)).toBeGreaterThan(2 ** levels);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('refuses above the limit with a message naming the cost, the limit and how it is counted', () => {
    const [error] = validate(schema, parse(`{ nodes(first: 1000) { edges { node { siblings { name } } } } }`), [operationCostRule({}, 50_000)]);
    expect(error!.message).toBe(
      'operation too costly: its cost is 103001, the limit is 50000 (every field costs 1, times the `first` of each list around it; 100 when `first` is not given)',
    );
    expect(error!.extensions).toEqual({ code: 'BAD_USER_INPUT', limit: { name: 'cost', max: 50000, actual: 103001 } });
  });
});

describe('introspectionDisabledRule', () => {
  it('refuses __schema and __type, and lets __typename through', () => {
    const messages = validate(schema, parse(`{ __typename __type(name: "Node") { name } __schema { queryType { name } } }`), [introspectionDisabledRule]).map((e) => e.message);
    expect(messages).toEqual([
      'introspection is disabled in production (NODE_ENV=production): the operation asks for __type',
      'introspection is disabled in production (NODE_ENV=production): the operation asks for __schema',
    ]);
  });

  it('is among the operation rules only outside development', () => {
    const introspect = parse(`{ __schema { queryType { name } } }`);
    expect(validate(schema, introspect, operationRules({ development: true }))).toEqual([]);
    expect(validate(schema, introspect, operationRules({ development: false }))).toHaveLength(1);
  });
});

// The heavy fields of Trellis's schema, by the names FIELD_WEIGHTS gives them.
const heavySchema = buildSchema(`
  type Query { validateDefinition(spec: String): Result, runs(first: Int): [Result!]! }
  type Mutation { startRun(definition: String): Result, saveDefinition(spec: String): Result, cancelRun(id: ID): Result }
  type Result { valid: Boolean }
`);

const measureOf = (query: string) => [...measureOperations(heavySchema, parse(query)).values()][0]!;

describe('heavy fields', () => {
  it('cost 10,000 each, so that an operation holds at most four', () => {
    expect(measureOf(`{ validateDefinition { valid } }`)).toMatchObject({ cost: 10_001, heavy: { 'Query.validateDefinition': 1 } });
    expect(measureOf(`mutation { a: startRun { valid } b: startRun { valid } c: saveDefinition { valid } d: cancelRun { valid } }`)).toMatchObject({
      cost: 30_005,
      heavy: { 'Mutation.startRun': 2, 'Mutation.saveDefinition': 1 },
    });
    const fourValidations = `{ ${[1, 2, 3, 4].map((i) => `v${i}: validateDefinition { valid }`).join(' ')} }`;
    expect(validate(heavySchema, parse(fourValidations), [operationCostRule()])).toEqual([]);
    const [error] = validate(heavySchema, parse(`{ ${[1, 2, 3, 4, 5].map((i) => `v${i}: validateDefinition { valid }`).join(' ')} }`), [operationCostRule()]);
    expect(error!.message).toBe(
      'operation too costly: its cost is 50005, the limit is 50000 (every field costs 1, but validateDefinition 10000 (5×), times the `first` of each list around it; 100 when `first` is not given)',
    );
  });

  it('count every time a fragment holding them is spread', () => {
    expect(measureOf(`fragment V on Query { validateDefinition { valid } } { ...V ... on Query { ...V } }`).heavy).toEqual({ 'Query.validateDefinition': 2 });
  });
});

describe('operationRootFieldsRule', () => {
  it('refuses more than 20 root fields, counting aliases and fragments every time', () => {
    const fields = (n: number) => Array.from({ length: n }, (_, i) => `f${i}: __typename`).join(' ');
    expect(validate(schema, parse(`{ ${fields(20)} }`), [operationRootFieldsRule()])).toEqual([]);
    const [error] = validate(schema, parse(`fragment F on Query { ${fields(11)} } { ...F ...F }`), [operationRootFieldsRule()]);
    expect(error!.message).toBe('operation too wide: it selects 22 root fields, the limit is 20');
    expect(error!.extensions).toEqual({ code: 'BAD_USER_INPUT', limit: { name: 'rootFields', max: 20, actual: 22 } });
  });

  it('does not count fields nested below the root', () => {
    expect(validate(schema, parse(`{ node { ${Array.from({ length: 30 }, (_, i) => `n${i}: name`).join(' ')} } }`), [operationRootFieldsRule()])).toEqual([]);
  });
});

describe('operationAliasesRule', () => {
  it('refuses more than 100 aliases anywhere in the operation, fragments counted every time they are spread', () => {
    const aliases = (n: number) => Array.from({ length: n }, (_, i) => `a${i}: name`).join(' ');
    expect(validate(schema, parse(`{ node { ${aliases(100)} } }`), [operationAliasesRule()])).toEqual([]);
    const [error] = validate(schema, parse(`fragment F on Node { ${aliases(60)} } { node { ...F child { ...F } } }`), [operationAliasesRule()]);
    expect(error!.message).toBe('operation has too many aliases: 120, the limit is 100');
    expect(error!.extensions).toEqual({ code: 'BAD_USER_INPUT', limit: { name: 'aliases', max: 100, actual: 120 } });
  });
});

describe('the token limit', () => {
  it('stops the parser after 5000 tokens, and says so as a limit', () => {
    const long = `{ ${'__typename '.repeat(5000)}}`;
    let thrown: unknown;
    try {
      parse(long, PARSE_OPTIONS);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(GraphQLError);
    const error = tokenLimitError(thrown as GraphQLError);
    expect(error.message).toBe('operation too long: it has more than 5000 tokens, the limit is 5000 (send large values, such as definitions, as variables)');
    expect(error.extensions).toEqual({ code: 'BAD_USER_INPUT', limit: { name: 'tokens', max: 5000 } });
    expect(() => parse(getIntrospectionQuery(), PARSE_OPTIONS)).not.toThrow();
  });

  it('leaves other syntax errors as they are', () => {
    const syntax = new GraphQLError('Syntax Error: Expected Name, found <EOF>.');
    expect(tokenLimitError(syntax)).toBe(syntax);
  });
});

describe('subscribeWithLimits', () => {
  const payload = (query: string, variables?: Record<string, unknown>) => ({ query, ...(variables ? { variables } : {}) });
  const prepared = (prepare: ReturnType<typeof subscribeWithLimits>, query: string, variables?: Record<string, unknown>) => {
    const outcome = prepare(undefined, '1', payload(query, variables));
    if (!('document' in outcome)) throw new Error(`refused: ${outcome.map((e) => e.message).join('; ')}`);
    return outcome;
  };
  const refusal = (prepare: ReturnType<typeof subscribeWithLimits>, query: string, variables?: Record<string, unknown>) => {
    const outcome = prepare(undefined, '1', payload(query, variables));
    return 'document' in outcome ? [] : outcome.map((e) => e.extensions.limit ?? e.extensions.code ?? e.message);
  };

  it('checks a document once: the same text again gets the same parsed document', () => {
    const prepare = subscribeWithLimits(schema, { development: false });
    const first = prepared(prepare, '{ node { name } }');
    expect(prepared(prepare, '{ node { name } }').document).toBe(first.document);
    expect(prepared(prepare, '{ node { child { name } } }').document).not.toBe(first.document);
  });

  it('checks the cost with each operation\'s own variables, the document kept or not', () => {
    const prepare = subscribeWithLimits(schema, { development: false });
    const query = 'query($n: Int) { nodes(first: $n) { edges { node { children(first: $n) { edges { node { name } } } } } } }';
    expect(refusal(prepare, query, { n: 10 })).toEqual([]);
    // 1000 × 1000 children: far above the limit, with a document already checked.
    expect(refusal(prepare, query, { n: 1000 })).toEqual([expect.objectContaining({ name: 'cost', max: OPERATION_LIMITS.maxCost })]);
    expect(refusal(prepare, query, { n: 10 })).toEqual([]);
    // Variables too large to key by their JSON are measured afresh, every time.
    const noted = buildSchema(`
      type Query { items(first: Int, note: String): ItemConnection! }
      type ItemConnection { edges: [ItemEdge!]! }
      type ItemEdge { node: Item! }
      type Item { name: String, items(first: Int, note: String): ItemConnection! }
    `);
    const prepareNoted = subscribeWithLimits(noted, { development: false });
    const nested = 'query($n: Int, $note: String) { items(first: $n, note: $note) { edges { node { items(first: $n) { edges { node { name } } } } } } }';
    const note = 'x'.repeat(300);
    expect(refusal(prepareNoted, nested, { n: 1000, note })).toEqual([expect.objectContaining({ name: 'cost' })]);
    expect(refusal(prepareNoted, nested, { n: 1, note })).toEqual([]);
    expect(refusal(prepareNoted, nested, { n: 1000, note })).toEqual([expect.objectContaining({ name: 'cost' })]);
  });

  it('refuses an invalid document every time it comes, and keeps none', () => {
    const prepare = subscribeWithLimits(schema, { development: false });
    for (let i = 0; i < 2; i++) {
      expect(refusal(prepare, '{ node { nope } }')).toEqual([expect.stringMatching(/^Cannot query field "nope" on type "Node"/)]);
      expect(refusal(prepare, '{ node { name }')).toEqual(['GRAPHQL_PARSE_FAILED']);
      expect(refusal(prepare, `{ ${chain(13)} }`)).toEqual([{ name: 'depth', max: 12, actual: 13 }]);
      expect(refusal(prepare, '{ __schema { types { name } } }')).toHaveLength(1);
    }
    // Development allows introspection; a production server's documents are not its documents.
    expect(refusal(subscribeWithLimits(schema, { development: true }), '{ __schema { types { name } } }')).toEqual([]);
  });

  it(`keeps the last ${CHECKED_DOCUMENTS} documents, and none longer than ${CHECKED_DOCUMENT_CHARS} characters`, () => {
    const prepare = subscribeWithLimits(schema, { development: false });
    const nth = (i: number) => `{ node { name } tags a${i}: tags }`;
    const first = prepared(prepare, nth(0)).document;
    for (let i = 1; i <= CHECKED_DOCUMENTS; i++) prepared(prepare, nth(i));
    expect(prepared(prepare, nth(0)).document).not.toBe(first);
    const recent = prepared(prepare, nth(CHECKED_DOCUMENTS)).document;
    expect(prepared(prepare, nth(CHECKED_DOCUMENTS)).document).toBe(recent);
    const long = `{ node { name } }${' '.repeat(CHECKED_DOCUMENT_CHARS)}`;
    expect(prepared(prepare, long).document).not.toBe(prepared(prepare, long).document);
  });
});
