import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import {
  GraphQLError,
  Kind,
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
import { OPERATION_PARSE_OPTIONS, operationNestingError } from './operation-text-limits';
import { MAX_PAGE_SIZE } from './pagination';

/**
 * What one operation may ask for. Both limits leave the largest queries the CLI and the README
 * send (depth 7, cost under 10,000) far below them.
 */
export const OPERATION_LIMITS = Object.freeze({
  /** Fields nested inside one another (`{ runs { edges { node { id } } } }` is 4 deep). */
  maxDepth: 12,
  /** Static cost: every field 1, times the page sizes of the lists around it. */
  maxCost: 50_000,
  /** Items a list counts as when its size is not given: `first` omitted, or a list with no `first`. */
  unsizedListItems: 100,
});

/** Variable values of a request, by name (`request.variables`, graphql-ws `payload.variables`). */
export type VariableValues = Readonly<Record<string, unknown>>;

type Measure = { depth: number; cost: number };

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
    eachOperation(context, variables, (operation, { cost }) => {
      if (cost <= maxCost) return;
      context.reportError(
        limitError(
          `operation too costly: its cost is ${cost}, the limit is ${maxCost} (every field costs 1, times the \`first\` of each list around it; ${OPERATION_LIMITS.unsizedListItems} when \`first\` is not given)`,
          operation,
          'cost',
          maxCost,
          cost,
        ),
      );
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
 * The rules that need only the document: depth and, outside development, no introspection.
 * Apollo Server runs them as `validationRules`, with graphql-js's own.
 */
export function documentRules(options: { development: boolean }): ValidationRule[] {
  return [operationDepthRule(), ...(options.development ? [] : [introspectionDisabledRule])];
}

/** Every rule an operation passes before it runs: {@link documentRules} and the cost, which reads the variables. */
export function operationRules(options: { variables?: VariableValues; development: boolean }): ValidationRule[] {
  return [...documentRules(options), operationCostRule(options.variables ?? {})];
}

/**
 * Apollo Server plugin that applies {@link operationCostRule} once the operation is known. Not
 * one of Apollo's `validationRules`: those cannot see the variables, and Apollo skips them for a
 * document it has validated before, whatever variables come with it the next time.
 */
export function operationCostPlugin(): ApolloServerPlugin<BaseContext> {
  return {
    requestDidStart: async () => ({
      didResolveOperation: async ({ schema, document, request }) => {
        const [error] = validate(schema, document, [operationCostRule(request.variables ?? {})]);
        if (error) throw new GraphQLError(error.message, { nodes: error.nodes, extensions: { ...error.extensions, http: { status: 400 } } });
      },
    }),
  };
}

/**
 * graphql-ws `onSubscribe`: parses and validates like graphql-ws's default, plus
 * {@link operationRules}; errors go back to the client as the operation's `error` message. Unlike
 * the default, a syntax error does too (coded `GRAPHQL_PARSE_FAILED`, as Apollo Server codes it),
 * rather than closing the socket as an internal error.
 */
export function subscribeWithLimits(schema: GraphQLSchema, options: { development: boolean }) {
  return (_ctx: unknown, _id: string, payload: SubscribePayload): ExecutionArgs | readonly GraphQLError[] => {
    const tooDeep = operationNestingError(payload.query);
    if (tooDeep) return [tooDeep];
    let document: DocumentNode;
    try {
      document = parse(payload.query, OPERATION_PARSE_OPTIONS);
    } catch (err) {
      // Not only GraphQLErrors: a document nested a few thousand levels overflows the parser's stack.
      const syntax = err instanceof GraphQLError ? err : undefined;
      const message = syntax?.message ?? `the operation cannot be parsed: ${err instanceof Error ? err.message : String(err)}`;
      return [new GraphQLError(message, { source: syntax?.source, positions: syntax?.positions, extensions: { code: 'GRAPHQL_PARSE_FAILED' } })];
    }
    const errors = validate(schema, document, [...specifiedRules, ...operationRules({ variables: payload.variables ?? {}, development: options.development })]);
    if (errors.length > 0) return errors;
    return { schema, document, operationName: payload.operationName, variableValues: payload.variables };
  };
}

function limitError(message: string, operation: OperationDefinitionNode, name: 'depth' | 'cost', max: number, actual: number): GraphQLError {
  return new GraphQLError(message, { nodes: [operation], extensions: { code: 'BAD_USER_INPUT', limit: { name, max, actual } } });
}

/** Measures every operation of the document once, when the validator enters it. */
function eachOperation(context: ValidationContext, variables: VariableValues, check: (operation: OperationDefinitionNode, measure: Measure) => void): ASTVisitor {
  return {
    OperationDefinition(operation) {
      const root = context.getSchema().getRootType(operation.operation);
      if (root) check(operation, new OperationMeasurer(context, operation, variables).measure(operation.selectionSet, root));
      return false; // fragments are measured where they are spread
    },
  };
}

/** Depth and cost of one operation, following fragment spreads; each fragment is measured once. */
class OperationMeasurer {
  private readonly fragments = new Map<string, Measure>();
  private readonly entered = new Set<string>();

  constructor(
    private readonly context: ValidationContext,
    private readonly operation: OperationDefinitionNode,
    private readonly variables: VariableValues,
  ) {}

  measure(selectionSet: SelectionSetNode, parentType: GraphQLNamedType | undefined): Measure {
    let depth = 0;
    let cost = 0;
    for (const selection of selectionSet.selections) {
      let inner: Measure;
      if (selection.kind === Kind.FIELD) {
        if (selection.name.value.startsWith('__')) continue;
        const field = isObjectType(parentType) || isInterfaceType(parentType) ? parentType.getFields()[selection.name.value] : undefined;
        const below = selection.selectionSet ? this.measure(selection.selectionSet, field && getNamedType(field.type)) : { depth: 0, cost: 0 };
        const items = field ? this.listItems(field, selection, parentType) : 1;
        inner = { depth: below.depth + 1, cost: 1 + items * below.cost };
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const type = selection.typeCondition ? typeFromAST(this.context.getSchema(), selection.typeCondition) : parentType;
        inner = this.measure(selection.selectionSet, type);
      } else {
        inner = this.fragment(this.context.getFragment(selection.name.value));
      }
      depth = Math.max(depth, inner.depth);
      cost += inner.cost;
    }
    return { depth, cost };
  }

  private fragment(fragment: FragmentDefinitionNode | null | undefined): Measure {
    // Unknown and cyclic fragments are NoUnusedFragments' and NoFragmentCycles' to report.
    if (!fragment || this.entered.has(fragment.name.value)) return { depth: 0, cost: 0 };
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
