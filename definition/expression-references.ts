import type jsonata from 'jsonata';

/**
 * Names `$secret('NAME')` accepts: a letter or `_`, then letters, digits or `_`, at most 128
 * characters (they double as `TRELLIS_SECRET_<NAME>` environment variable suffixes).
 */
export const SECRET_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

/** A node of a JSONata syntax tree with its fields, which the typings describe only in part. */
export type AstNode = jsonata.ExprNode & Record<string, unknown>;

/** A `$steps.<id>…` path an expression reads. */
export interface StepReference {
  /** The step id after `$steps.`. */
  id: string;
  /**
   * The plain names that follow the id (`["output", "body", "id"]` for `$steps.charge.output.body.id`),
   * ending at the first thing that is not a plain name (a wildcard, a function, a block…) and
   * after the first name that carries a predicate, a sort or a binding (`items[0]` ends at `items`).
   */
  fields: string[];
}

/** One use of `$secret` in an expression. */
export interface SecretUse {
  /** The literal name of a `$secret('NAME')` call; `undefined` for any other use (a dynamic name, `$f := $secret`…). */
  name?: string;
}

/** One use of `$var` (a tenant's variable) in an expression. */
export interface VarUse {
  /** The literal name of a `$var('NAME')` call; `undefined` for any other use (a dynamic name, `$f := $var`…). */
  name?: string;
}

/** What an expression reads, found by {@link expressionReferences}. */
export interface ExpressionReferences {
  /** Every `$steps.<id>` path, in order of appearance. */
  steps: StepReference[];
  /** Every use of `$secret`, in order of appearance. */
  secrets: SecretUse[];
  /** Every use of `$var`, in order of appearance. */
  vars: VarUse[];
  /** Names of the variables the expression reads, without `$` (`$input` gives `input`, `$` gives `""`). */
  variables: ReadonlySet<string>;
  /** Names the expression binds itself anywhere: `$x := …`, lambda parameters, `@$x` and `#$x`. */
  bound: ReadonlySet<string>;
}

// Step fields that select, sort or bind after the name: what follows is no longer a plain field.
const SELECTOR_FIELDS = ['stages', 'predicate', 'group', 'focus', 'index'] as const;

// Functions that take a name, which must be a literal so that it is known before the run.
const NAMED_FUNCTIONS: ReadonlySet<string> = new Set(['secret', 'var']);

/**
 * Lists what a parsed expression reads: `$steps` paths, `$secret` and `$var` uses and variables.
 * Static only: `$lookup($steps, $id)` or a name computed at run time is not a step reference.
 *
 * @example
 * ```ts
 * expressionReferences(jsonata('$steps.charge.output.body.id & $secret("PAY")').ast());
 * // { steps: [{ id: 'charge', fields: ['output', 'body', 'id'] }], secrets: [{ name: 'PAY' }], vars: [],
 * //   variables: Set {'steps', 'secret'}, bound: Set {} }
 * ```
 */
export function expressionReferences(ast: jsonata.ExprNode): ExpressionReferences {
  const nodes = astNodes(ast);
  const bindingNodes = new Set<object>();
  const bound = new Set<string>();
  // The procedure node of each `$secret('NAME')` or `$var('NAME')` call, with its literal name.
  const literalCalls = new Map<object, string>();
  for (const node of nodes) {
    if ((node.type as string) === 'bind' && isVariable(node.lhs)) {
      bindingNodes.add(node.lhs);
      bound.add(node.lhs.value);
    }
    if (node.type === 'lambda' && Array.isArray(node.arguments)) {
      for (const parameter of node.arguments) {
        if (!isVariable(parameter)) continue;
        bindingNodes.add(parameter);
        bound.add(parameter.value);
      }
    }
    if (typeof node.focus === 'string') bound.add(node.focus);
    if (typeof node.index === 'string') bound.add(node.index);
    if (node.type === 'function' && isVariable(node.procedure) && NAMED_FUNCTIONS.has(node.procedure.value)) {
      const [argument, ...more] = Array.isArray(node.arguments) ? (node.arguments as unknown[]) : [];
      if (more.length === 0 && isPlainString(argument)) literalCalls.set(node.procedure, argument.value);
    }
  }

  const steps: StepReference[] = [];
  const secrets: SecretUse[] = [];
  const vars: VarUse[] = [];
  const variables = new Set<string>();
  for (const node of nodes) {
    if (isVariable(node) && !bindingNodes.has(node)) {
      variables.add(node.value);
      const use = literalCalls.has(node) ? { name: literalCalls.get(node) } : {};
      if (node.value === 'secret') secrets.push(use);
      if (node.value === 'var') vars.push(use);
    }
    const reference = stepReference(node);
    if (reference) steps.push(reference);
  }
  return { steps, secrets, vars, variables, bound };
}

/** Every node of a JSONata syntax tree, parents before children. */
export function astNodes(root: jsonata.ExprNode): AstNode[] {
  const nodes: AstNode[] = [];
  const seen = new Set<object>();
  const visit = (value: unknown): void => {
    if (value === null || typeof value !== 'object' || value instanceof RegExp || seen.has(value)) return;
    seen.add(value);
    if (Array.isArray(value)) {
      value.forEach(visit);
      return;
    }
    if (typeof (value as { type?: unknown }).type === 'string') nodes.push(value as AstNode);
    Object.values(value).forEach(visit);
  };
  visit(root);
  return nodes;
}

function stepReference(node: AstNode): StepReference | undefined {
  if ((node.type as string) !== 'path' || !Array.isArray(node.steps)) return undefined;
  const [head, id, ...rest] = node.steps as AstNode[];
  if (!isVariable(head) || head.value !== 'steps' || id?.type !== 'name' || typeof id.value !== 'string') return undefined;
  const fields: string[] = [];
  if (!hasSelector(id)) {
    for (const step of rest) {
      if (step.type !== 'name' || typeof step.value !== 'string') break;
      fields.push(step.value);
      if (hasSelector(step)) break;
    }
  }
  return { id: id.value, fields };
}

function hasSelector(node: AstNode): boolean {
  return SELECTOR_FIELDS.some((field) => node[field] !== undefined);
}

function isVariable(value: unknown): value is AstNode & { value: string } {
  const node = value as AstNode | undefined;
  return node?.type === 'variable' && typeof node.value === 'string';
}

function isPlainString(value: unknown): value is AstNode & { value: string } {
  const node = value as AstNode | undefined;
  return node?.type === 'string' && typeof node.value === 'string' && !hasSelector(node);
}
