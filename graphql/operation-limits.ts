import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import {
  GraphQLError,
  Kind,
  getOperationAST,
  getNamedType,
  getNullableType,
  isInterfaceType,
  isListType,
  isObjectType,
  parse,
  specifiedRules,
  typeFromAST,
  validate,
  type ASTVisitor,
  type DocumentNode,
  type ExecutionArgs,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
  type ValueNode,
} from 'graphql';
import type { SubscribePayload } from 'graphql-ws';
import { LruCache } from '../src/support/lru-cache';
import { operationNestingError } from './operation-text-limits';
import { MAX_PAGE_SIZE } from './pagination';

/**
 * What one operation may ask for. The limits leave the largest queries the CLI and the README
 * send (depth 7, cost under 10,000 plus one heavy field, 163 tokens for the introspection query)
 * far below them.
 */
export const OPERATION_LIMITS = Object.freeze({
  /** Fields nested inside one another (`{ runs { edges { node { id } } } }` is 4 deep). */
  maxDepth: 12,
  /** Static cost: every field 1 (heavy fields {@link FIELD_WEIGHTS}), times the page sizes of the lists around it. */
  maxCost: 50_000,
  /** Items a list counts as when its size is not given: `first` omitted, or a list with no `first`. */
  unsizedListItems: 100,
  /** Fields selected at the top of one operation (aliases and fragments count each time). */
  maxRootFields: 20,
  /** Aliased fields in one operation (fragments count each time they are spread). */
  maxAliases: 100,
  /**
   * Tokens of one document: the parser stops there, so a huge document costs little to refuse.
   * Large values (a definition) belong in the variables, which are JSON and do not count.
   */
  maxTokens: 5_000,
});

/** The weight of a field that does much more work than reading rows: parsing and checking a whole definition, starting a run. */
export const HEAVY_FIELD_WEIGHT = 10_000;

/**
 * Fields that cost {@link HEAVY_FIELD_WEIGHT} instead of 1, by `Type.field`: at most 4 fit in one
 * operation, and each takes extra tokens of its caller's rate limit (src/api/request-guard.ts).
 * Add here every new field that validates a definition or starts runs (webhooks, schedules,
 * events and their triggers).
 */
export const FIELD_WEIGHTS: Readonly<Record<string, number>> = Object.freeze({
  'Query.validateDefinition': HEAVY_FIELD_WEIGHT,
  'Mutation.saveDefinition': HEAVY_FIELD_WEIGHT,
  'Mutation.startRun': HEAVY_FIELD_WEIGHT,
  'Mutation.testRun': HEAVY_FIELD_WEIGHT,
  'Mutation.retryRun': HEAVY_FIELD_WEIGHT,
});

/** Parser options for every GraphQL document the API reads (Apollo's `parseOptions`, graphql-ws). */
export const PARSE_OPTIONS = Object.freeze({ maxTokens: OPERATION_LIMITS.maxTokens });

/** Variable values of a request, by name (`request.variables`, graphql-ws `payload.variables`). */
export type VariableValues = Readonly<Record<string, unknown>>;

/** What an operation asks for, measured statically. */
export type OperationMeasure = {
  depth: number;
  cost: number;
  /** Heavy fields ({@link FIELD_WEIGHTS}) it runs, by `Type.field`, each as often as it runs. */
  heavy: Record<string, number>;
  /** Aliased fields. */
  aliases: number;
  /** Fields at the top of the selection measured (for an operation: its root fields). */
  fields: number;
};

const NOTHING: OperationMeasure = Object.freeze({ depth: 0, cost: 0, heavy: Object.freeze({}), aliases: 0, fields: 0 });

/** How many heavy fields a measure counts, in all. */
export function heavyFieldCount(measure: OperationMeasure): number {
  return Object.values(measure.heavy).reduce((sum, count) => sum + count, 0);
}

/**
 * Refuses an operation whose fields nest deeper than `maxDepth`. Fragments count where they are
 * spread. Meta fields (`__typename`, and introspection's `__schema`/`__type`, whose own nesting
 * graphql-js's `MaxIntrospectionDepthRule` bounds) count nothing.
 */
export function operationDepthRule(maxDepth: number = OPERATION_LIMITS.maxDepth): ValidationRule {
  return (context) =>
    eachOperation(context, {}, (operation, { depth }) => {
      if (depth <= maxDepth) return;
      context.reportError(limitError(`operation too deep: its fields nest ${depth} levels, the limit is ${maxDepth}`, operation, 'depth', maxDepth, depth));
    });
}

/**
 * Refuses an operation whose static cost exceeds `maxCost`. Every field costs 1; what a list
 * field selects is multiplied by its `first` (a literal, else the variable's value, else its
 * default; {@link OPERATION_LIMITS.unsizedListItems} when none is given, {@link MAX_PAGE_SIZE} at
 * most) or, for a list without `first`, by `unsizedListItems`. A connection's `edges` count once:
 * the connection's `first` already multiplies them. Aliases and fragments count every time they
 * select.
 */
export function operationCostRule(variables: VariableValues = {}, maxCost: number = OPERATION_LIMITS.maxCost): ValidationRule {
  return (context) =>
    eachOperation(context, variables, (operation, measure) => {
      const error = costError(operation, measure, maxCost);
      if (error) context.reportError(error);
    });
}

/** The cost errors of measured operations, in their order (none when every one is within the limit). */
function costErrors(measures: ReadonlyMap<OperationDefinitionNode, OperationMeasure>): GraphQLError[] {
  return [...measures].flatMap(([operation, measure]) => costError(operation, measure, OPERATION_LIMITS.maxCost) ?? []);
}

function costError(operation: OperationDefinitionNode, { cost, heavy }: OperationMeasure, maxCost: number): GraphQLError | undefined {
  if (cost <= maxCost) return undefined;
  const weighted = Object.entries(heavy).map(([field, count]) => `${field.slice(field.indexOf('.') + 1)} ${FIELD_WEIGHTS[field]} (${count}×)`);
  const weights = weighted.length > 0 ? `, but ${weighted.join(', ')}` : '';
  return limitError(
    `operation too costly: its cost is ${cost}, the limit is ${maxCost} (every field costs 1${weights}, times the \`first\` of each list around it; ${OPERATION_LIMITS.unsizedListItems} when \`first\` is not given)`,
    operation,
    'cost',
    maxCost,
    cost,
  );
}

/**
 * Refuses an operation that selects more than `maxRootFields` fields at its top (aliases and
 * fragments count every time): each root field is a separate piece of work, so aliases of one
 * field would otherwise multiply it.
 */
export function operationRootFieldsRule(maxRootFields: number = OPERATION_LIMITS.maxRootFields): ValidationRule {
  return (context) =>
    eachOperation(context, {}, (operation, { fields }) => {
      if (fields <= maxRootFields) return;
      context.reportError(limitError(`operation too wide: it selects ${fields} root fields, the limit is ${maxRootFields}`, operation, 'rootFields', maxRootFields, fields));
    });
}

/** Refuses an operation with more than `maxAliases` aliased fields (fragments count every time they are spread). */
export function operationAliasesRule(maxAliases: number = OPERATION_LIMITS.maxAliases): ValidationRule {
  return (context) =>
    eachOperation(context, {}, (operation, { aliases }) => {
      if (aliases <= maxAliases) return;
      context.reportError(limitError(`operation has too many aliases: ${aliases}, the limit is ${maxAliases}`, operation, 'aliases', maxAliases, aliases));
    });
}

/**
 * Measures the operations of a document that graphql-js's own rules accept.
 * @returns each operation's measure (fragments followed, `first` read from `variables`)
 */
export function measureOperations(schema: GraphQLSchema, document: DocumentNode, variables: VariableValues = {}): ReadonlyMap<OperationDefinitionNode, OperationMeasure> {
  // The last measure of each document is kept: a socket's operation is measured twice (its cost
  // checked, then its rate taken), and dashboards watching one run send the same document and
  // variables at once. Its key: the variables object, or, when they are a few short values, their JSON.
  let bySchema = lastMeasures.get(schema);
  if (!bySchema) lastMeasures.set(schema, (bySchema = new WeakMap()));
  const last = bySchema.get(document);
  const key = smallValuesKey(variables);
  if (last && (last.variables === variables || (key !== undefined && last.key === key))) return last.measures;
  const measures = new Map<OperationDefinitionNode, OperationMeasure>();
  validate(schema, document, [(context) => eachOperation(context, variables, (operation, measure) => measures.set(operation, measure))]);
  bySchema.set(document, { variables, key, measures });
  return measures;
}

const lastMeasures = new WeakMap<GraphQLSchema, WeakMap<DocumentNode, { variables: VariableValues; key: string | undefined; measures: ReadonlyMap<OperationDefinitionNode, OperationMeasure> }>>();

/** The JSON of variables that are at most 8 strings (of at most 256 characters), numbers, booleans or nulls; else undefined. */
function smallValuesKey(variables: VariableValues): string | undefined {
  const entries = Object.entries(variables);
  if (entries.length > 8) return undefined;
  for (const [, value] of entries) {
    if (value === null || typeof value === 'number' || typeof value === 'boolean') continue;
    if (typeof value === 'string' && value.length <= 256) continue;
    return undefined;
  }
  return JSON.stringify(entries);
}

/**
 * The error the parser throws past {@link OPERATION_LIMITS.maxTokens}, said the way other
 * limits say it (BAD_USER_INPUT, `extensions.limit`); other errors are returned unchanged.
 */
export function tokenLimitError(error: GraphQLError): GraphQLError {
  if (!/^Syntax Error: Document contains more th(?:an|at) \d+ tokens/.test(error.message)) return error;
  const max = OPERATION_LIMITS.maxTokens;
  return new GraphQLError(`operation too long: it has more than ${max} tokens, the limit is ${max} (send large values, such as definitions, as variables)`, {
    extensions: { code: 'BAD_USER_INPUT', limit: { name: 'tokens', max } },
  });
}

/** Refuses `__schema` and `__type`: introspection is for development servers only. */
export const introspectionDisabledRule: ValidationRule = (context) => ({
  Field(node) {
    if (node.name.value !== '__schema' && node.name.value !== '__type') return;
    context.reportError(
      new GraphQLError(`introspection is disabled in production (NODE_ENV=production): the operation asks for ${node.name.value}`, {
        nodes: [node],
        extensions: { code: 'GRAPHQL_VALIDATION_FAILED', validationErrorCode: 'INTROSPECTION_DISABLED' },
      }),
    );
  },
});

/**
 * The rules that need only the document: depth, root fields, aliases and, outside development,
 * no introspection. Apollo Server runs them as `validationRules`, with graphql-js's own.
 */
export function documentRules(options: { development: boolean }): ValidationRule[] {
  return [operationDepthRule(), operationRootFieldsRule(), operationAliasesRule(), ...(options.development ? [] : [introspectionDisabledRule])];
}

/** Every rule an operation passes before it runs: {@link documentRules} and the cost, which reads the variables. */
export function operationRules(options: { variables?: VariableValues; development: boolean }): ValidationRule[] {
  return [...documentRules(options), operationCostRule(options.variables ?? {})];
}

/**
 * Apollo Server plugin that applies {@link operationCostRule} once the operation is known, then
 * hands the operation's measure to `options.admit` (the rate limit), which may throw to refuse it.
 * Not one of Apollo's `validationRules`: those cannot see the variables, and Apollo skips them for
 * a document it has validated before, whatever variables come with it the next time.
 */
export function operationCostPlugin<TContext extends BaseContext>(
  options: { admit?: (context: TContext, measure: OperationMeasure) => void } = {},
): ApolloServerPlugin<TContext> {
  return {
    requestDidStart: async () => ({
      didResolveOperation: async ({ schema, document, request, operation, contextValue }) => {
        const measures = measureOperations(schema, document, request.variables ?? {});
        const [error] = costErrors(measures);
        if (error) throw new GraphQLError(error.message, { nodes: error.nodes, extensions: { ...error.extensions, http: { status: 400 } } });
        const measure = operation && measures.get(operation);
        if (measure) options.admit?.(contextValue, measure);
      },
    }),
  };
}

/**
 * graphql-ws `onSubscribe`: parses and validates like graphql-ws's default, plus
 * {@link operationRules}; errors go back to the client as the operation's `error` message. Unlike
 * the default, a syntax error does too (coded `GRAPHQL_PARSE_FAILED`, as Apollo Server codes it),
 * rather than closing the socket as an internal error.
 *
 * Documents that passed are kept (the last {@link CHECKED_DOCUMENTS}, of at most
 * {@link CHECKED_DOCUMENT_CHARS} characters each): what they are checked against does not change,
 * and 50 dashboards opening one run sent 100 copies of two documents at once, each parsed and
 * validated in ~2 ms while the run they watch waited. The cost, which reads the variables, is
 * checked every time.
 */
export function subscribeWithLimits(schema: GraphQLSchema, options: { development: boolean }) {
  const checked = new LruCache<string, DocumentNode>(CHECKED_DOCUMENTS);
  return (_ctx: unknown, _id: string, payload: SubscribePayload): ExecutionArgs | readonly GraphQLError[] => {
    let document = checked.get(payload.query);
    if (!document) {
      const outcome = checkDocument(schema, payload.query, options);
      if (!('kind' in outcome)) return outcome;
      document = outcome;
      if (payload.query.length <= CHECKED_DOCUMENT_CHARS) checked.set(payload.query, document);
    }
    const tooCostly = costErrors(measureOperations(schema, document, payload.variables ?? {}));
    if (tooCostly.length > 0) return tooCostly;
    return { schema, document, operationName: payload.operationName, variableValues: payload.variables };
  };
}

/** How many checked documents {@link subscribeWithLimits} keeps, and how long each may be. */
export const CHECKED_DOCUMENTS = 100;
export const CHECKED_DOCUMENT_CHARS = 4096;

/** The document, parsed and passing every rule that does not read variables; else its errors. */
function checkDocument(schema: GraphQLSchema, query: string, options: { development: boolean }): DocumentNode | readonly GraphQLError[] {
  const tooDeep = operationNestingError(query);
  if (tooDeep) return [tooDeep];
  let document: DocumentNode;
  try {
    document = parse(query, PARSE_OPTIONS);
  } catch (err) {
    if (err instanceof GraphQLError && tokenLimitError(err) !== err) return [tokenLimitError(err)];
    // Not only GraphQLErrors: a document nested a few thousand levels overflows the parser's stack.
    const syntax = err instanceof GraphQLError ? err : undefined;
    const message = syntax?.message ?? `the operation cannot be parsed: ${err instanceof Error ? err.message : String(err)}`;
    return [new GraphQLError(message, { source: syntax?.source, positions: syntax?.positions, extensions: { code: 'GRAPHQL_PARSE_FAILED' } })];
  }
  const errors = validate(schema, document, [...specifiedRules, ...documentRules(options)]);
  return errors.length > 0 ? errors : document;
}

/** The measure of the operation graphql-ws (or Apollo) will run: the named one, else the only one. */
export function executedOperationMeasure(schema: GraphQLSchema, args: Pick<ExecutionArgs, 'document' | 'operationName' | 'variableValues'>): OperationMeasure | undefined {
  const operation = getOperationAST(args.document, args.operationName);
  return operation ? measureOperations(schema, args.document, args.variableValues ?? {}).get(operation) : undefined;
}

function limitError(message: string, operation: OperationDefinitionNode, name: 'depth' | 'cost' | 'rootFields' | 'aliases', max: number, actual: number): GraphQLError {
  return new GraphQLError(message, { nodes: [operation], extensions: { code: 'BAD_USER_INPUT', limit: { name, max, actual } } });
}

/** Measures every operation of the document once, when the validator enters it. */
function eachOperation(context: ValidationContext, variables: VariableValues, check: (operation: OperationDefinitionNode, measure: OperationMeasure) => void): ASTVisitor {
  return {
    OperationDefinition(operation) {
      const root = context.getSchema().getRootType(operation.operation);
      if (root) check(operation, new OperationMeasurer(context, operation, variables).measure(operation.selectionSet, root));
      return false; // fragments are measured where they are spread
    },
  };
}

/** Depth, cost, heavy fields, aliases and root fields of one operation, following fragment spreads; each fragment is measured once. */
class OperationMeasurer {
  private readonly fragments = new Map<string, OperationMeasure>();
  private readonly entered = new Set<string>();

  constructor(
    private readonly context: ValidationContext,
    private readonly operation: OperationDefinitionNode,
    private readonly variables: VariableValues,
  ) {}

  measure(selectionSet: SelectionSetNode, parentType: GraphQLNamedType | undefined): OperationMeasure {
    const total: OperationMeasure = { depth: 0, cost: 0, heavy: {}, aliases: 0, fields: 0 };
    for (const selection of selectionSet.selections) {
      let inner: OperationMeasure;
      if (selection.kind === Kind.FIELD) {
        const aliases = selection.alias ? 1 : 0;
        if (selection.name.value.startsWith('__')) {
          inner = { ...NOTHING, aliases, fields: 1 };
        } else {
          const field = isObjectType(parentType) || isInterfaceType(parentType) ? parentType.getFields()[selection.name.value] : undefined;
          const below = selection.selectionSet ? this.measure(selection.selectionSet, field && getNamedType(field.type)) : NOTHING;
          const items = field ? this.listItems(field, selection, parentType) : 1;
          const weighted = parentType ? `${parentType.name}.${selection.name.value}` : '';
          const weight = FIELD_WEIGHTS[weighted];
          const heavy = scaled(below.heavy, items);
          if (weight !== undefined) heavy[weighted] = (heavy[weighted] ?? 0) + 1;
          inner = { depth: below.depth + 1, cost: (weight ?? 1) + items * below.cost, heavy, aliases: aliases + below.aliases, fields: 1 };
        }
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const type = selection.typeCondition ? typeFromAST(this.context.getSchema(), selection.typeCondition) : parentType;
        inner = this.measure(selection.selectionSet, type);
      } else {
        inner = this.fragment(this.context.getFragment(selection.name.value));
      }
      total.depth = Math.max(total.depth, inner.depth);
      total.cost += inner.cost;
      total.aliases += inner.aliases;
      total.fields += inner.fields;
      for (const [name, count] of Object.entries(inner.heavy)) total.heavy[name] = (total.heavy[name] ?? 0) + count;
    }
    return total;
  }

  private fragment(fragment: FragmentDefinitionNode | null | undefined): OperationMeasure {
    // Unknown and cyclic fragments are NoUnusedFragments' and NoFragmentCycles' to report.
    if (!fragment || this.entered.has(fragment.name.value)) return NOTHING;
    const known = this.fragments.get(fragment.name.value);
    if (known) return known;
    this.entered.add(fragment.name.value);
    const measure = this.measure(fragment.selectionSet, typeFromAST(this.context.getSchema(), fragment.typeCondition));
    this.entered.delete(fragment.name.value);
    this.fragments.set(fragment.name.value, measure);
    return measure;
  }

  /** How many times a field's selection counts. */
  private listItems(field: GraphQLField<unknown, unknown>, selection: FieldNode, parentType: GraphQLNamedType | undefined): number {
    if (field.args.some((arg) => arg.name === 'first')) return this.first(selection.arguments?.find((arg) => arg.name.value === 'first')?.value);
    if (!isListType(getNullableType(field.type))) return 1;
    return parentType?.name.endsWith('Connection') ? 1 : OPERATION_LIMITS.unsizedListItems;
  }

  private first(value: ValueNode | undefined): number {
    let given: unknown;
    if (value?.kind === Kind.INT) given = Number(value.value);
    else if (value?.kind === Kind.VARIABLE) {
      const name = value.name.value;
      const fallback = this.operation.variableDefinitions?.find((definition) => definition.variable.name.value === name)?.defaultValue;
      given = this.variables[name] !== undefined ? this.variables[name] : fallback?.kind === Kind.INT ? Number(fallback.value) : undefined;
    }
    if (given === undefined || given === null) return OPERATION_LIMITS.unsizedListItems;
    // Outside 1…MAX_PAGE_SIZE the resolver refuses it, with a clearer message than a cost would give.
    return typeof given === 'number' && Number.isInteger(given) ? Math.min(Math.max(given, 1), MAX_PAGE_SIZE) : MAX_PAGE_SIZE;
  }
}

/** Heavy-field counts, each times `items`. */
function scaled(heavy: Readonly<Record<string, number>>, items: number): Record<string, number> {
  const result: Record<string, number> = {};
  for (const [name, count] of Object.entries(heavy)) result[name] = count * items;
  return result;
}
