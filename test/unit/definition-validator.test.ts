import { definitionJsonSchema, definitionSchema } from '../../definition/definition-schema';
import { formatErrors, validateDefinition, type DefinitionError } from '../../definition/definition-validator';

// The example of SPEC.md §2, verbatim.
const ORDER_FULFILMENT = {
    "name": "order-fulfilment",
    "description": "Charge, reserve stock, ship, invoice",
    "input":  { "type": "object", "required": ["orderId", "total"],
                "properties": { "orderId": {"type": "string"}, "total": {"type": "number"} } },
    "output": "{% $steps.summary.output %}",
    "defaults": { "timeout": "30s", "retry": { "maxAttempts": 3, "initialInterval": "1s", "backoffCoefficient": 2 } },
    "steps": {
      "charge":  { "type": "http", "method": "POST", "url": "https://pay.example/charges",
                   "headers": { "Authorization": "Bearer {% $secret('PAY_TOKEN') %}" },
                   "body": { "order": "{% $input.orderId %}", "amount": "{% $input.total %}" },
                   "output": { "type": "object", "required": ["status", "body"] },
                   "compensate": { "type": "http", "method": "POST", "url": "https://pay.example/refunds",
                                   "body": { "charge": "{% $steps.charge.output.body.id %}" } } },
      "reserve": { "type": "http", "method": "POST", "url": "https://stock.example/reservations",
                   "body": { "order": "{% $input.orderId %}" },
                   "compensate": { "type": "http", "method": "DELETE",
                                   "url": "https://stock.example/reservations/{% $steps.reserve.output.body.id %}" } },
      "check":   { "type": "condition", "needs": ["charge", "reserve"],
                   "if": "{% $steps.charge.output.body.risk < 0.8 %}", "then": ["ship"], "else": ["review"] },
      "review":  { "type": "wait", "needs": ["check"], "signal": "approval", "timeout": "3d" },
      "ship":    { "type": "http", "needs": ["check"], "method": "POST", "url": "https://ship.example/shipments",
                   "body": { "order": "{% $input.orderId %}" } },
      "cooldown":{ "type": "delay", "needs": ["ship", "review"], "join": "any", "duration": "2h" },
      "invoice": { "type": "workflow", "needs": ["cooldown"], "definition": "send-invoice", "version": "latest",
                   "input": { "orderId": "{% $input.orderId %}" } },
      "summary": { "type": "transform", "needs": ["invoice"],
                   "value": { "order": "{% $input.orderId %}", "invoice": "{% $steps.invoice.output.number %}" } }
    }
  };

type Json = Record<string, unknown>;

/** A deep copy of the SPEC example with `change` applied to it. */
function example(change: (definition: Json & { steps: Record<string, Json> }) => void = () => {}): Json {
  const copy = structuredClone(ORDER_FULFILMENT) as Json & { steps: Record<string, Json> };
  change(copy);
  return copy;
}

/** A minimal definition around the given steps. */
function definition(steps: Record<string, Json>, extra: Json = {}): Json {
  return { name: 'test', steps, ...extra };
}

function errorsOf(spec: unknown, options?: Parameters<typeof validateDefinition>[1]): DefinitionError[] {
  const result = validateDefinition(spec, options);
  if (result.valid) throw new Error('expected the definition to be invalid');
  return result.errors;
}

function expectValid(spec: unknown): void {
  const result = validateDefinition(spec);
  expect(result.valid ? [] : formatErrors(result.errors)).toEqual([]);
}

describe('validateDefinition', () => {
  describe('a valid definition', () => {
    it('accepts the order-fulfilment example of the SPEC and returns it unchanged', () => {
      const result = validateDefinition(ORDER_FULFILMENT);
      expect(result).toEqual({ valid: true, definition: ORDER_FULFILMENT, errors: [] });
    });

    it('accepts every step type', () => {
      expectValid(
        definition({
          fetch: { type: 'http', url: 'https://a.example/{% $input.id %}', expectStatus: [200, 404], query: { q: 1 } },
          shape: { type: 'transform', needs: ['fetch'], value: { status: '{% $steps.fetch.output.status %}' } },
          gate: { type: 'condition', needs: ['shape'], if: '{% $steps.shape.output.status = 200 %}', then: ['later'], else: ['child'] },
          later: { type: 'delay', needs: ['gate'], until: '{% $steps.fetch.output.body.at %}' },
          child: { type: 'workflow', needs: ['gate'], definition: 'child-flow', version: 2, input: '{% $input %}' },
          approve: { type: 'wait', needs: ['later', 'child'], join: 'any', signal: 'approval', timeout: 'P1D', onError: 'continue' },
          each: {
            type: 'map',
            needs: ['approve'],
            items: '{% $steps.fetch.output.body.items %}',
            maxConcurrency: 5,
            do: { type: 'http', method: 'PUT', url: 'https://b.example/{% $item.id %}', body: '{% $steps.approve.output %}' },
          },
        }),
      );
    });

    it('lets an expression read a step with a dash in its id when it is upstream', () => {
      expectValid(
        definition({
          'get-user': { type: 'transform', value: 1 },
          use: { type: 'transform', needs: ['get-user'], value: '{% $steps."get-user".output %}' },
        }),
      );
    });

    it('lets an expression read a step needed only transitively', () => {
      expectValid(
        definition({
          a: { type: 'transform', value: 1 },
          b: { type: 'transform', needs: ['a'], value: 2 },
          c: { type: 'transform', needs: ['b'], value: '{% $steps.a.output %}' },
        }),
      );
    });

    it('accepts a map step running an inline graph that reads its own steps and the upstream ones', () => {
      expectValid(
        definition({
          list: { type: 'transform', value: [1, 2] },
          each: {
            type: 'map',
            needs: ['list'],
            items: '{% $steps.list.output %}',
            do: {
              steps: {
                double: { type: 'transform', value: '{% $item * 2 + $count($steps.list.output) %}' },
                label: { type: 'transform', needs: ['double'], value: 'n={% $steps.double.output %}' },
              },
              output: '{% $steps.label.output %}',
            },
          },
        }),
      );
    });
  });

  describe('shape errors', () => {
    it('names an unknown field and points at it', () => {
      expect(errorsOf(example((d) => (d.steps.charge!.retries = 3)))).toEqual([
        { path: '/steps/charge/retries', message: 'unknown field "retries"' },
      ]);
    });

    it('reports unknown fields at the top level, in defaults and in a compensation', () => {
      const spec = example((d) => {
        d.version = 2;
        (d.defaults as Json).retries = 1;
        (d.steps.charge!.compensate as Json).needs = ['reserve'];
      });
      expect(errorsOf(spec)).toEqual([
        { path: '/defaults/retries', message: 'unknown field "retries"' },
        { path: '/steps/charge/compensate/needs', message: 'unknown field "needs"' },
        { path: '/version', message: 'unknown field "version"' },
      ]);
    });

    it('reports a missing required field and a wrong type', () => {
      const spec = definition({ a: { type: 'http' }, b: { type: 'wait', signal: 7 } });
      expect(errorsOf(spec)).toEqual([
        { path: '/steps/a/url', message: 'missing required field "url"' },
        { path: '/steps/b/signal', message: 'expected string, got 7' },
      ]);
    });

    it('reports an unknown or missing step type with the allowed types', () => {
      expect(errorsOf(definition({ a: { type: 'htp', url: 'x' }, b: { url: 'x' } }))).toEqual([
        { path: '/steps/a/type', message: 'unknown type "htp": expected one of http, transform, condition, delay, workflow, wait, map' },
        { path: '/steps/b/type', message: 'missing "type": expected one of http, transform, condition, delay, workflow, wait, map' },
      ]);
    });

    it('reports an invalid step id at the step', () => {
      expect(errorsOf(definition({ 'bad id': { type: 'transform', value: 1 }, '9lives': { type: 'transform', value: 1 } }))).toEqual([
        { path: '/steps/9lives', message: expect.stringContaining('invalid step id "9lives"') },
        { path: '/steps/bad id', message: expect.stringContaining('invalid step id "bad id"') },
      ]);
    });

    it('escapes "/" and "~" in pointers as RFC 6901 says', () => {
      expect(errorsOf(definition({ 'a/b~c': { type: 'transform', value: 1 } }))[0]?.path).toBe('/steps/a~1b~0c');
    });

    it('rejects a definition without steps and a bad name', () => {
      expect(errorsOf({ name: 'Order Flow', steps: {} })).toEqual([
        { path: '/name', message: expect.stringContaining('name must be lowercase') },
        { path: '/steps', message: 'needs at least one step' },
      ]);
    });

    it('rejects a document that is not an object', () => {
      expect(errorsOf('nope')).toEqual([{ path: '', message: 'expected object, got "nope"' }]);
    });
  });

  describe('durations', () => {
    it('points at each invalid duration', () => {
      const spec = example((d) => {
        (d.defaults as Json).timeout = 'forever';
        ((d.defaults as Json).retry as Json).initialInterval = '1 second';
        d.steps.review!.timeout = 'P1M';
        d.steps.cooldown!.duration = '0s';
        d.steps.ship!.timeout = '-5s';
        d.steps.ship!.retry = { maxInterval: 'soon' };
      });
      expect(errorsOf(spec).map((error) => error.path)).toEqual([
        '/defaults/retry/initialInterval',
        '/defaults/timeout',
        '/steps/cooldown/duration',
        '/steps/review/timeout',
        '/steps/ship/retry/maxInterval',
        '/steps/ship/timeout',
      ]);
      expect(errorsOf(spec)[1]?.message).toBe(
        'invalid duration "forever": use e.g. "500ms", "90s", "15m", "1h30m", "3d" or ISO-8601 "PT2H"',
      );
    });

    it('requires a delay to have exactly one of duration and until', () => {
      expect(
        errorsOf(
          definition({
            none: { type: 'delay' },
            both: { type: 'delay', duration: '1s', until: '{% $now() %}' },
          }),
        ),
      ).toEqual([
        { path: '/steps/both/until', message: 'a delay takes either "duration" or "until", not both' },
        { path: '/steps/none', message: 'a delay needs "duration" or "until"' },
      ]);
    });

    it('rejects a retry whose maximum interval is shorter than its first', () => {
      expect(errorsOf(definition({ a: { type: 'transform', value: 1, retry: { initialInterval: '1m', maxInterval: '10s' } } }))).toEqual([
        { path: '/steps/a/retry/maxInterval', message: 'maxInterval is shorter than initialInterval' },
      ]);
    });
  });

  describe('needs', () => {
    it('reports needs naming a missing step, the step itself, or a step twice', () => {
      const spec = definition({
        a: { type: 'transform', value: 1 },
        x: { type: 'transform', value: 1, needs: ['a', 'foo', 'x', 'a'] },
      });
      expect(errorsOf(spec)).toEqual([
        { path: '/steps/x/needs/1', message: 'needs "foo", which is not a step' },
        { path: '/steps/x/needs/2', message: '"x" needs itself' },
        { path: '/steps/x/needs/3', message: '"a" is listed twice in needs' },
      ]);
    });

    it('reports a cycle with the path of steps that form it, at the need that closes it', () => {
      const spec = definition({
        a: { type: 'transform', value: 1, needs: ['c'] },
        b: { type: 'transform', value: 1, needs: ['a'] },
        c: { type: 'transform', value: 1, needs: ['root', 'b'] },
        root: { type: 'transform', value: 1 },
      });
      expect(errorsOf(spec)).toEqual([
        { path: '/steps/b/needs/0', message: '"b" needs "a", which closes the cycle a → c → b → a' },
      ]);
    });

    it('reports each of two separate cycles once', () => {
      const spec = definition({
        a: { type: 'transform', value: 1, needs: ['b'] },
        b: { type: 'transform', value: 1, needs: ['a'] },
        c: { type: 'transform', value: 1, needs: ['d'] },
        d: { type: 'transform', value: 1, needs: ['c'] },
      });
      expect(errorsOf(spec)).toEqual([
        { path: '/steps/b/needs/0', message: '"b" needs "a", which closes the cycle a → b → a' },
        { path: '/steps/d/needs/0', message: '"d" needs "c", which closes the cycle c → d → c' },
      ]);
    });
  });

  describe('conditions', () => {
    it('reports then/else naming a missing step or one that does not need the condition', () => {
      const spec = example((d) => {
        d.steps.check!.then = ['ship', 'shipp'];
        d.steps.check!.else = ['review', 'invoice'];
      });
      expect(errorsOf(spec)).toEqual([
        { path: '/steps/check/else/1', message: 'else names "invoice", which does not need "check": add "check" to its needs' },
        { path: '/steps/check/then/1', message: 'then names "shipp", which is not a step' },
      ]);
    });

    it('reports a step that is in both then and else', () => {
      const spec = example((d) => (d.steps.check!.else = ['review', 'ship']));
      expect(errorsOf(spec)).toEqual([{ path: '/steps/check/else/1', message: '"ship" is in both then and else' }]);
    });

    it('requires the condition to be an expression', () => {
      const spec = example((d) => (d.steps.check!.if = 'risk < 0.8'));
      expect(errorsOf(spec)).toEqual([
        { path: '/steps/check/if', message: 'the condition must be one expression, like "{% $input.amount > 100 %}"' },
      ]);
    });

    it('requires a guard to be one expression', () => {
      const spec = example((d) => (d.steps.ship!.if = 'yes {% true %}'));
      expect(errorsOf(spec)).toEqual([
        { path: '/steps/ship/if', message: 'a guard must be one expression, like "{% $input.amount > 100 %}"' },
      ]);
    });
  });

  describe('expressions', () => {
    it('reports an expression that does not parse, with the JSONata reason, at the string holding it', () => {
      const spec = example((d) => ((d.steps.ship!.body as Json).order = '{% $input.orderId + %}'));
      expect(errorsOf(spec)).toEqual([
        { path: '/steps/ship/body/order', message: '"$input.orderId +": syntax error at character 18: Unexpected end of expression' },
      ]);
    });

    it('reports a "{%" without a closing "%}"', () => {
      const spec = example((d) => (d.steps.ship!.url = 'https://ship.example/{% $input.orderId'));
      expect(errorsOf(spec)).toEqual([{ path: '/steps/ship/url', message: '"{%" has no closing "%}"' }]);
    });

    it('reports a reference to a step that does not exist', () => {
      const spec = example((d) => ((d.steps.ship!.body as Json).order = '{% $steps.chrage.output.body.id %}'));
      expect(errorsOf(spec)).toEqual([
        { path: '/steps/ship/body/order', message: 'reads $steps.chrage, but there is no step "chrage"' },
      ]);
    });

    it('reports a reference to a step that is not upstream', () => {
      const spec = example((d) => ((d.steps.ship!.body as Json).reviewer = '{% $steps.review.output.by %}'));
      expect(errorsOf(spec)).toEqual([
        {
          path: '/steps/ship/body/reviewer',
          message: 'reads $steps.review, but "review" is not upstream of step "ship": add it to needs, directly or through another step',
        },
      ]);
    });

    it('lets the definition output read any step', () => {
      expectValid(example((d) => (d.output = { a: '{% $steps.charge.output %}', b: '{% $steps.review.output %}' })));
    });

    it('lets a compensation read its own step but not a downstream one', () => {
      const spec = example((d) => {
        (d.steps.charge!.compensate as Json).url = 'https://pay.example/{% $steps.charge.output.body.id %}/{% $steps.ship.output %}';
      });
      expect(errorsOf(spec)).toEqual([
        {
          path: '/steps/charge/compensate/url',
          message: 'reads $steps.ship, but "ship" is not upstream of the compensation of "charge": add it to needs, directly or through another step',
        },
      ]);
    });

    it('does not let a step read its own output', () => {
      const spec = definition({ a: { type: 'transform', value: '{% $steps.a.output %}' } });
      expect(errorsOf(spec)).toEqual([
        {
          path: '/steps/a/value',
          message: 'reads $steps.a, but "a" is not upstream of step "a": add it to needs, directly or through another step',
        },
      ]);
    });

    it('leaves descriptions, JSON Schemas and literal fields alone', () => {
      expectValid(
        example((d) => {
          d.description = 'uses {% markers %} literally';
          d.steps.ship!.output = { type: 'object', description: '{% not an expression' };
        }),
      );
    });
  });

  describe('map steps', () => {
    it('requires items to be an expression', () => {
      const spec = definition({ each: { type: 'map', items: '$input.list', do: { type: 'http', url: 'x' } } });
      expect(errorsOf(spec)).toEqual([
        { path: '/steps/each/items', message: 'items must be one expression giving an array, like "{% $input.orders %}"' },
      ]);
    });

    it('reports problems inside an action against the action form', () => {
      const spec = definition({ each: { type: 'map', items: '{% [1] %}', do: { type: 'http', url: 5, needs: [] } } });
      expect(errorsOf(spec)).toEqual([
        { path: '/steps/each/do/needs', message: 'unknown field "needs"' },
        { path: '/steps/each/do/url', message: 'expected string, got 5' },
      ]);
    });

    it('checks the graph inside the inline form like the outer one', () => {
      const spec = definition({
        up: { type: 'transform', value: 1 },
        other: { type: 'transform', value: 1 },
        each: {
          type: 'map',
          needs: ['up'],
          items: '{% [1, 2] %}',
          do: {
            steps: {
              a: { type: 'transform', value: '{% $steps.up.output + $steps.other.output %}', needs: ['b'] },
              b: { type: 'transform', value: 1, needs: ['a', 'ghost'] },
              up: { type: 'transform', value: 1 },
            },
            output: '{% $steps.a.output %}',
          },
        },
      });
      expect(errorsOf(spec)).toEqual([
        {
          path: '/steps/each/do/steps/a/value',
          message: 'reads $steps.other, but "other" is not upstream of step "a": add it to needs, directly or through another step',
        },
        { path: '/steps/each/do/steps/b/needs/0', message: '"b" needs "a", which closes the cycle a → b → a' },
        { path: '/steps/each/do/steps/b/needs/1', message: 'needs "ghost", which is not a step' },
        { path: '/steps/each/do/steps/up', message: 'step id "up" is already used by an enclosing step; use another id' },
      ]);
    });

    it('limits how deep inline graphs nest', () => {
      const nest = (depth: number): Json =>
        depth === 0
          ? { type: 'transform', value: 1 }
          : { type: 'map', items: '{% [1] %}', do: { steps: { [`level${depth}`]: nest(depth - 1) } } };
      expectValid(definition({ top: nest(2) }));
      expect(errorsOf(definition({ top: nest(3) }))).toEqual([
        { path: '/steps/top/do/steps/level3/do/steps/level2/do', message: 'map graphs nest 4 deep; the limit is 3' },
      ]);
    });
  });

  describe('limits and reporting', () => {
    it('rejects more steps than the limit, counting those inside map steps', () => {
      const steps: Record<string, Json> = {};
      for (let index = 0; index < 4; index += 1) steps[`s${index}`] = { type: 'transform', value: index };
      steps.each = { type: 'map', items: '{% [1] %}', do: { steps: { inner: { type: 'transform', value: 1 } } } };
      expect(errorsOf(definition(steps), { maxSteps: 5 })).toEqual([
        { path: '/steps', message: 'the definition has 6 steps (counting those inside map steps); the limit is 5' },
      ]);
      expect(validateDefinition(definition(steps), { maxSteps: 6 }).valid).toBe(true);
    });

    it('allows 500 steps by default', () => {
      const steps = (count: number): Record<string, Json> =>
        Object.fromEntries(Array.from({ length: count }, (_, index) => [`s${index}`, { type: 'transform', value: index }]));
      expect(validateDefinition(definition(steps(500))).valid).toBe(true);
      expect(errorsOf(definition(steps(501)))[0]?.path).toBe('/steps');
    });

    it('reports several errors of different kinds together, sorted by pointer', () => {
      const spec = example((d) => {
        d.steps.charge!.retries = 3;
        d.steps.review!.needs = ['check', 'summary'];
        d.steps.check!.then = ['ship', 'nope'];
        d.steps.cooldown!.duration = '2 hours';
        (d.steps.ship!.body as Json).order = '{% $input.orderId + %}';
        d.steps.z = { type: 'htp' };
      });
      expect(errorsOf(spec).map((error) => error.path)).toEqual([
        '/steps/charge/retries',
        '/steps/check/then/1',
        '/steps/cooldown/duration',
        '/steps/cooldown/needs/1',
        '/steps/ship/body/order',
        '/steps/z/type',
      ]);
    });

    it('orders array indexes numerically', () => {
      const needs = Array.from({ length: 12 }, (_, index) => `missing${index}`);
      const paths = errorsOf(definition({ a: { type: 'transform', value: 1, needs } })).map((error) => error.path);
      expect(paths.slice(0, 3)).toEqual(['/steps/a/needs/0', '/steps/a/needs/1', '/steps/a/needs/2']);
      expect(paths[11]).toBe('/steps/a/needs/11');
    });

    it('formats errors one per line', () => {
      expect(
        formatErrors([
          { path: '/steps/a/needs/0', message: 'needs "b", which is not a step' },
          { path: '', message: 'expected object, got null' },
        ]),
      ).toBe('/steps/a/needs/0: needs "b", which is not a step\n/: expected object, got null');
    });
  });
});

describe('definitionSchema', () => {
  it('parses the SPEC example on its own', () => {
    expect(definitionSchema.safeParse(ORDER_FULFILMENT).success).toBe(true);
  });

  it('produces a JSON Schema for editors that rejects unknown fields', () => {
    const schema = definitionJsonSchema();
    expect(schema).toMatchObject({ type: 'object', additionalProperties: false, required: ['name', 'steps'] });
    expect(JSON.stringify(schema)).toContain('"const":"map"');
  });
});
