import { z } from 'zod';
import type { CustomStepTypeSchema } from '../../definition/custom-step-type';
import { definitionJsonSchema, definitionSchema } from '../../definition/definition-schema';
import { formatErrors, validateDefinition, type DefinitionError } from '../../definition/definition-validator';
import { ORDER_FULFILMENT } from '../support/spec-example';

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

function expectValid(spec: unknown, options?: Parameters<typeof validateDefinition>[1]): void {
  const result = validateDefinition(spec, options);
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
        { path: '/steps/a/type', message: 'unknown type "htp": expected one of http, transform, condition, delay, workflow, wait, log, code, map' },
        { path: '/steps/b/type', message: 'missing "type": expected one of http, transform, condition, delay, workflow, wait, log, code, map' },
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

  describe('what $steps.<id> paths read', () => {
    const charge = { type: 'http', url: 'https://pay.example/charges' };

    it('allows only "output" and "status" after the step id', () => {
      const spec = definition({
        charge,
        use: { type: 'transform', needs: ['charge'], value: { ok: '{% $steps.charge.status %}', bad: '{% $steps.charge.outptu.body %}' } },
      });
      expect(errorsOf(spec)).toEqual([
        { path: '/steps/use/value/bad', message: 'reads $steps.charge.outptu, but a step has only "output" and "status"' },
      ]);
    });

    it('allows only status, headers and body in the output of an http step', () => {
      const spec = definition({
        charge,
        use: {
          type: 'transform',
          needs: ['charge'],
          value: { ok: '{% $steps.charge.output.body.anything & $steps.charge.output.headers.etag %}', bad: '{% $steps.charge.output.bdy %}' },
        },
      });
      expect(errorsOf(spec)).toEqual([
        {
          path: '/steps/use/value/bad',
          message: 'reads $steps.charge.output.bdy, but the output of http step "charge" has only status, headers and body',
        },
      ]);
    });

    it('reports a field that a closed output schema does not declare, naming the fields it does', () => {
      const spec = definition({
        quote: {
          type: 'transform',
          value: { price: 1 },
          output: { type: 'object', properties: { price: { type: 'number' }, currency: { type: 'string' } }, additionalProperties: false },
        },
        use: { type: 'transform', needs: ['quote'], value: '{% $steps.quote.output.prise * 2 %}' },
      });
      expect(errorsOf(spec)).toEqual([
        {
          path: '/steps/use/value',
          message: 'reads $steps.quote.output.prise, but the output schema of "quote" declares no field "prise" (it declares: price, currency)',
        },
      ]);
    });

    it('treats declared properties without additionalProperties as the list of fields', () => {
      const spec = definition({
        quote: { type: 'transform', value: {}, output: { type: 'object', properties: { price: {} } } },
        use: { type: 'transform', needs: ['quote'], value: '{% $steps.quote.output.cost %}' },
      });
      expect(errorsOf(spec)).toEqual([
        { path: '/steps/use/value', message: expect.stringContaining('declares no field "cost" (it declares: price)') },
      ]);
    });

    it('follows nested properties and array items, and names where the field is missing', () => {
      const spec = definition({
        charge: {
          ...charge,
          output: {
            type: 'object',
            properties: {
              body: {
                type: 'object',
                properties: { id: { type: 'string' }, lines: { type: 'array', items: { type: 'object', properties: { sku: {} } } } },
              },
            },
          },
        },
        use: {
          type: 'transform',
          needs: ['charge'],
          value: { id: '{% $steps.charge.output.body.idd %}', sku: '{% $steps.charge.output.body.lines.skuu %}' },
        },
      });
      expect(errorsOf(spec)).toEqual([
        {
          path: '/steps/use/value/id',
          message: 'reads $steps.charge.output.body.idd, but the output schema of "charge" declares no field "idd" in output.body (it declares: id, lines)',
        },
        {
          path: '/steps/use/value/sku',
          message:
            'reads $steps.charge.output.body.lines.skuu, but the output schema of "charge" declares no field "skuu" in output.body.lines (it declares: sku)',
        },
      ]);
    });

    it('does not report fields of open, composed or referenced schemas, or after a predicate, wildcard or function', () => {
      const object = (extra: Json): Json => ({ type: 'object', properties: { known: { type: 'object', properties: { a: {} }, additionalProperties: false } }, ...extra });
      expectValid(
        definition({
          open: { type: 'transform', value: {}, output: object({ additionalProperties: true }) },
          typed: { type: 'transform', value: {}, output: object({ additionalProperties: { type: 'string' } }) },
          patterned: { type: 'transform', value: {}, output: object({ patternProperties: { '^x-': {} } }) },
          required: { type: 'transform', value: {}, output: object({ required: ['extra'] }) },
          composed: { type: 'transform', value: {}, output: { anyOf: [object({}), { type: 'object' }] } },
          referenced: { type: 'transform', value: {}, output: { $ref: '#/$defs/x', $defs: { x: object({}) } } },
          untyped: { type: 'transform', value: {}, output: { type: 'object' } },
          use: {
            type: 'transform',
            needs: ['open', 'typed', 'patterned', 'required', 'composed', 'referenced', 'untyped'],
            value: [
              '{% $steps.open.output.extra & $steps.typed.output.extra & $steps.patterned.output."x-extra" %}',
              '{% $steps.required.output.extra & $steps.composed.output.extra & $steps.referenced.output.extra %}',
              '{% $steps.untyped.output.extra %}',
              '{% $steps.open.output.known[a = 1].b & $steps.open.output.known.*.b & $steps.open.output.known.$lookup($, "b") %}',
              '{% $lookup($steps.open.output.known, "b") %}',
            ],
          },
        }),
      );
    });

    it('checks the output schemas of enclosing steps from inside a map inline graph, and the definition output', () => {
      const spec = definition(
        {
          quote: { type: 'transform', value: {}, output: { type: 'object', properties: { price: {} } } },
          each: {
            type: 'map',
            needs: ['quote'],
            items: '{% [1] %}',
            do: { steps: { inner: { type: 'transform', value: '{% $steps.quote.output.cost %}' } } },
          },
        },
        { output: '{% $steps.quote.output.total %}' },
      );
      expect(errorsOf(spec).map((error) => error.path)).toEqual(['/output', '/steps/each/do/steps/inner/value']);
    });
  });

  describe('$secret', () => {
    const secretHeader = { Authorization: "Bearer {% $secret('PAY_TOKEN') %}" };

    it('is allowed in the fields an activity resolves: http steps, http compensations and map http actions', () => {
      expectValid(
        definition({
          call: {
            type: 'http',
            method: "{% $secret('METHOD') %}",
            url: "https://a.example/{% $secret('PATH') %}",
            query: { key: "{% $secret('API_KEY') %}" },
            headers: secretHeader,
            body: { signature: "{% $uppercase($secret('SIGNING_KEY')) %}" },
            compensate: { type: 'http', url: 'https://a.example/undo', headers: secretHeader },
          },
          each: { type: 'map', items: '{% [1, 2] %}', do: { type: 'http', url: 'https://b.example/{% $item %}', headers: secretHeader } },
        }),
      );
    });

    it('is refused wherever the workflow itself would evaluate it', () => {
      const secret = "{% $secret('PAY_TOKEN') %}";
      const guard = "{% $secret('FLAG') = 'on' %}";
      const spec = definition(
        {
          shape: { type: 'transform', value: { token: secret } },
          guarded: { type: 'http', url: 'https://a.example', if: guard },
          gate: { type: 'condition', if: guard },
          later: { type: 'delay', until: secret },
          child: { type: 'workflow', definition: 'child', input: { token: secret } },
          undo: { type: 'transform', value: 1, compensate: { type: 'workflow', definition: 'undo', input: secret } },
          each: { type: 'map', items: "{% $split($secret('LIST'), ',') %}", do: { steps: { inner: { type: 'transform', value: secret } }, output: secret } },
        },
        { output: secret },
      );
      const message = expect.stringMatching(/^\$secret is resolved only inside activities, so a secret here would enter the workflow history: use it in an http step/);
      expect(errorsOf(spec)).toEqual(
        [
          '/output',
          '/steps/child/input/token',
          '/steps/each/do/output',
          '/steps/each/do/steps/inner/value',
          '/steps/each/items',
          '/steps/gate/if',
          '/steps/guarded/if',
          '/steps/later/until',
          '/steps/shape/value/token',
          '/steps/undo/compensate/input',
        ].map((path) => ({ path, message })),
      );
    });

    it('needs one string literal that is a valid secret name', () => {
      const spec = definition({
        call: {
          type: 'http',
          url: 'https://a.example',
          headers: {
            computed: '{% $secret($input.name) %}',
            joined: "{% $secret('PAY' & '_TOKEN') %}",
            aliased: "{% ($s := $secret; $s('PAY_TOKEN')) %}",
            piped: "{% 'PAY_TOKEN' ~> $secret %}",
            badName: "{% $secret('pay-token') %}",
          },
        },
      });
      const dynamic = "$secret takes one string literal naming the secret, like $secret('PAY_TOKEN'): names must be known before the run";
      expect(errorsOf(spec)).toEqual([
        { path: '/steps/call/headers/aliased', message: dynamic },
        {
          path: '/steps/call/headers/badName',
          message: '$secret("pay-token"): a secret name is a letter or "_", then letters, digits or "_", at most 128 characters',
        },
        { path: '/steps/call/headers/computed', message: dynamic },
        { path: '/steps/call/headers/joined', message: dynamic },
        { path: '/steps/call/headers/piped', message: dynamic },
      ]);
    });
  });

  describe('$var', () => {
    it('reads a variable anywhere an expression runs, in the workflow and in activities', () => {
      const url = "{% $var('BASE_URL') %}/charges";
      expectValid(
        definition(
          {
            call: { type: 'http', method: "{% $var('METHOD') %}", url, headers: { 'x-env': "{% $var('ENV') %}" }, compensate: { type: 'http', url } },
            shape: { type: 'transform', needs: ['call'], if: "{% $var('LIMITS').enabled %}", value: { max: "{% $var('LIMITS').max * 2 %}" } },
            later: { type: 'delay', until: "{% $var('START_AT') %}" },
            child: { type: 'workflow', definition: 'child', input: { url: "{% $var('BASE_URL') %}" } },
            each: { type: 'map', items: "{% $var('REGIONS') %}", do: { steps: { inner: { type: 'transform', value: "{% $var('ENV') & $item %}" } }, output: "{% $var('ENV') %}" } },
          },
          { output: "{% $var('ENV') %}" },
        ),
      );
    });

    it('needs one string literal that is a valid variable name', () => {
      const spec = definition({
        shape: {
          type: 'transform',
          value: {
            computed: '{% $var($input.name) %}',
            aliased: "{% ($v := $var; $v('BASE_URL')) %}",
            piped: "{% 'BASE_URL' ~> $var %}",
            badName: "{% $var('base-url') %}",
            inherited: "{% $var('constructor') %}",
          },
        },
      });
      const dynamic = "$var takes one string literal naming the variable, like $var('BASE_URL'): a run pins the variables it reads when it starts";
      expect(errorsOf(spec)).toEqual([
        { path: '/steps/shape/value/aliased', message: dynamic },
        { path: '/steps/shape/value/badName', message: '$var("base-url"): a variable name is a letter or "_", then letters, digits or "_", at most 128 characters' },
        { path: '/steps/shape/value/computed', message: dynamic },
        {
          path: '/steps/shape/value/inherited',
          message: '$var("constructor"): "constructor" is a name every JavaScript object has (Object.prototype.constructor) and cannot name a variable',
        },
        { path: '/steps/shape/value/piped', message: dynamic },
      ]);
    });
  });

  describe('$item and $index', () => {
    it('are bound in a map action, in every step of an inline graph and in its output', () => {
      expectValid(
        definition({
          direct: { type: 'map', items: '{% [1] %}', do: { type: 'workflow', definition: 'child', input: { n: '{% $item %}', at: '{% $index %}' } } },
          graph: {
            type: 'map',
            items: '{% [[1]] %}',
            do: {
              steps: {
                first: { type: 'transform', if: '{% $index > 0 %}', value: '{% $item %}' },
                nested: { type: 'map', needs: ['first'], items: '{% $item %}', do: { steps: { deep: { type: 'transform', value: '{% $item %}' } } } },
              },
              output: '{% $index %}',
            },
          },
        }),
      );
    });

    it('are refused outside a map step\'s "do", the map step\'s own items, guard and compensation included', () => {
      const spec = definition(
        {
          top: { type: 'transform', value: '{% $item.id %}' },
          each: {
            type: 'map',
            if: '{% $index = 0 %}',
            items: '{% $item %}',
            do: { type: 'http', url: 'https://a.example' },
            compensate: { type: 'http', url: 'https://a.example/{% $index %}' },
          },
        },
        { output: '{% $item %}' },
      );
      expect(errorsOf(spec)).toEqual([
        { path: '/output', message: '$item is only bound inside a map step\'s "do"' },
        { path: '/steps/each/compensate/url', message: '$index is only bound inside a map step\'s "do"' },
        { path: '/steps/each/if', message: '$index is only bound inside a map step\'s "do"' },
        { path: '/steps/each/items', message: '$item is only bound inside a map step\'s "do"' },
        { path: '/steps/top/value', message: '$item is only bound inside a map step\'s "do"' },
      ]);
    });

    it('may be bound by the expression itself anywhere', () => {
      expectValid(
        definition({
          a: {
            type: 'transform',
            value: [
              '{% ($item := 1; $item + 1) %}',
              '{% $map([1, 2], function($item, $index) { $item * $index }) %}',
              '{% [1, 2]#$index.($index) %}',
              '{% [{"a": 1}].a@$item.($item) %}',
            ],
          },
        }),
      );
    });
  });

  describe('map inline graphs', () => {
    it('refuse a wait step and a compensation on an inner step, naming the alternative', () => {
      const spec = definition({
        each: {
          type: 'map',
          items: '{% [1] %}',
          compensate: { type: 'http', url: 'https://a.example/undo' },
          do: {
            steps: {
              approve: { type: 'wait', signal: 'approval' },
              call: { type: 'http', url: 'https://a.example', compensate: { type: 'http', url: 'https://a.example/undo' } },
            },
          },
        },
      });
      expect(errorsOf(spec)).toEqual([
        {
          path: '/steps/each/do/steps/approve/type',
          message: 'a wait step cannot run inside a map step\'s "do": signals are addressed to the run, not to one item; wait before or after the map step',
        },
        {
          path: '/steps/each/do/steps/call/compensate',
          message: 'a step inside a map step\'s "do" cannot have "compensate": put "compensate" on the map step itself',
        },
      ]);
    });
  });

  describe('$eval', () => {
    it('is refused, since the text it evaluates escapes every check', () => {
      const spec = definition({ a: { type: 'transform', value: { direct: "{% $eval('$steps.b.output') %}", piped: "{% '1' ~> $eval %}" } } });
      expect(errorsOf(spec)).toEqual([
        { path: '/steps/a/value/direct', message: expect.stringContaining('$eval is not available') },
        { path: '/steps/a/value/piped', message: expect.stringContaining('$eval is not available') },
      ]);
    });
  });

  describe('size limits', () => {
    it('reports a document larger than maxDefinitionBytes at the root, and nothing else: checking it would cost time in proportion to its size', () => {
      const spec = definition({ a: { type: 'transform', value: 'x'.repeat(300_000), retries: 1 } });
      expect(errorsOf(spec)).toEqual([{ path: '', message: `the definition is ${JSON.stringify(spec).length} bytes of JSON; the limit is 262144 bytes` }]);
    });

    it('counts bytes of UTF-8, so a multi-byte character counts for more than one', () => {
      const spec = definition({ a: { type: 'transform', value: 'é€😀' } });
      const size = JSON.stringify(spec).length - 4 + 2 + 3 + 4;
      expect(validateDefinition(spec, { maxDefinitionBytes: size }).valid).toBe(true);
      expect(errorsOf(spec, { maxDefinitionBytes: size - 1 })).toEqual([
        { path: '', message: `the definition is ${size} bytes of JSON; the limit is ${size - 1} bytes` },
      ]);
    });

    it('caps a map step\'s maxConcurrency at 1000 and keeps it a positive integer', () => {
      const each = (maxConcurrency: number): Json => ({ type: 'map', items: '{% [1] %}', maxConcurrency, do: { type: 'http', url: 'x' } });
      expectValid(definition({ each: each(1000) }));
      expect(errorsOf(definition({ a: each(1001), b: each(0), c: each(2.5) }))).toEqual([
        { path: '/steps/a/maxConcurrency', message: 'must be at most 1000' },
        { path: '/steps/b/maxConcurrency', message: 'must be at least 1' },
        { path: '/steps/c/maxConcurrency', message: 'expected int, got 2.5' },
      ]);
    });
  });

  describe('custom step types', () => {
    const sendEmail: CustomStepTypeSchema = {
      name: 'send-email',
      description: 'Sends one email',
      config: z.object({ to: z.email(), subject: z.string().min(1), priority: z.int().optional(), cc: z.array(z.email()).optional() }),
    };
    const stepTypes = [sendEmail];

    it('accepts a registered type with its config, templated config values and the common step fields', () => {
      const spec = definition({
        who: { type: 'transform', value: 'ana@example.com' },
        notify: {
          type: 'send-email',
          needs: ['who'],
          retry: { maxAttempts: 2 },
          timeout: '10s',
          to: '{% $steps.who.output %}',
          subject: "Welcome, {% $input.name %} ({% $secret('SIGNATURE') %})",
          priority: '{% $input.priority %}',
          cc: ['{% $input.cc %}', 'ops@example.com'],
        },
      });
      const result = validateDefinition(spec, { stepTypes });
      expect(result).toEqual({ valid: true, definition: spec, errors: [] });
    });

    it('checks the config as a strict object and the common fields, reporting every problem at once', () => {
      const spec = definition({ notify: { type: 'send-email', subject: 42, colour: 'red', priority: 1.5, cc: ['not an email'], retry: 'twice' } });
      expect(errorsOf(spec, { stepTypes })).toEqual([
        { path: '/steps/notify/cc/0', message: 'Invalid email address' },
        { path: '/steps/notify/colour', message: 'unknown field "colour"' },
        { path: '/steps/notify/priority', message: 'expected int, got 1.5' },
        { path: '/steps/notify/retry', message: 'expected object, got "twice"' },
        { path: '/steps/notify/subject', message: 'expected string, got 42' },
        { path: '/steps/notify/to', message: 'missing required field "to"' },
      ]);
    });

    it('checks expressions in the config like those of built-in steps', () => {
      const spec = definition({
        later: { type: 'transform', value: 1 },
        notify: { type: 'send-email', to: '{% $steps.later.output %}', subject: '{% $item %}', priority: '{% 1 + %}' },
      });
      expect(errorsOf(spec, { stepTypes }).map((error) => error.path)).toEqual([
        '/steps/notify/priority',
        '/steps/notify/subject',
        '/steps/notify/to',
      ]);
    });

    it('lists the registered types after the built-in ones for an unknown type', () => {
      expect(errorsOf(definition({ a: { type: 'send-emails', to: 'x' } }), { stepTypes })).toEqual([
        { path: '/steps/a/type', message: 'unknown type "send-emails": expected one of http, transform, condition, delay, workflow, wait, log, code, map, send-email' },
      ]);
    });

    it('is an unknown type when the deployment did not register it', () => {
      expect(errorsOf(definition({ a: { type: 'send-email', to: 'a@example.com', subject: 'x' } }))[0]).toEqual({
        path: '/steps/a/type',
        message: 'unknown type "send-email": expected one of http, transform, condition, delay, workflow, wait, log, code, map',
      });
    });

    it('may be used inside a map inline graph', () => {
      const spec = definition({
        each: {
          type: 'map',
          items: '{% $input.people %}',
          do: { steps: { notify: { type: 'send-email', to: '{% $item.email %}', subject: 'Hello', colour: 'red' } } },
        },
      });
      expect(errorsOf(spec, { stepTypes })).toEqual([{ path: '/steps/each/do/steps/notify/colour', message: 'unknown field "colour"' }]);
    });

    it('throws for a bad registration, a programming error rather than a bad document', () => {
      const spec = definition({ a: { type: 'transform', value: 1 } });
      expect(() => validateDefinition(spec, { stepTypes: [{ ...sendEmail, name: 'http' }] })).toThrow('custom step type "http"');
      expect(() => validateDefinition(spec, { stepTypes: [{ ...sendEmail, name: 'Send_Email' }] })).toThrow('custom step type "Send_Email"');
    });
  });

  describe('reporting', () => {
    it('reports ten different mistakes in one definition as ten errors, each at its pointer', () => {
      const spec = example((d) => {
        d.steps.charge!.retries = 3; // 1. an unknown field
        d.steps.ship!.needs = ['check', 'chek']; // 2. a need of a missing step
        d.steps.loop1 = { type: 'transform', value: 1, needs: ['loop2'] }; // 3. a cycle
        d.steps.loop2 = { type: 'transform', value: 2, needs: ['loop1'] };
        d.steps.check!.then = ['ship', 'cooldown']; // 4. then naming a step that does not depend on the condition
        (d.steps.ship!.body as Json).order = '{% $input.orderId + %}'; // 5. an expression that does not parse
        (d.steps.ship!.body as Json).reviewer = '{% $steps.review.output.by %}'; // 6. a step that is not upstream
        d.steps.cooldown!.duration = '2 hours'; // 7. a bad duration
        d.steps.invoice!.output = { type: 'object', properties: { number: { type: 'string' } }, additionalProperties: false };
        d.steps.summary!.value = {
          invoice: '{% $steps.invoice.output.numbr %}', // 8. a field absent from an output schema
          token: "{% $secret('PAY_TOKEN') %}", // 9. a secret in a transform
          item: '{% $item %}', // 10. $item outside a map step
        };
      });
      expect(errorsOf(spec)).toEqual([
        { path: '/steps/charge/retries', message: 'unknown field "retries"' },
        { path: '/steps/check/then/1', message: 'then names "cooldown", which does not need "check": add "check" to its needs' },
        { path: '/steps/cooldown/duration', message: expect.stringContaining('invalid duration "2 hours"') },
        { path: '/steps/loop2/needs/0', message: '"loop2" needs "loop1", which closes the cycle loop1 → loop2 → loop1' },
        { path: '/steps/ship/body/order', message: expect.stringContaining('syntax error') },
        { path: '/steps/ship/body/reviewer', message: expect.stringContaining('"review" is not upstream of step "ship"') },
        { path: '/steps/ship/needs/1', message: 'needs "chek", which is not a step' },
        { path: '/steps/summary/value/invoice', message: expect.stringContaining('declares no field "numbr"') },
        { path: '/steps/summary/value/item', message: '$item is only bound inside a map step\'s "do"' },
        { path: '/steps/summary/value/token', message: expect.stringContaining('$secret is resolved only inside activities') },
      ]);
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
