import fs from 'node:fs';
import path from 'node:path';
import Ajv, { type ValidateFunction } from 'ajv';
import YAML from 'yaml';

/**
 * docker-compose.yml, the production shape (issue 14, item 2), against the Compose
 * Specification's JSON Schema (the copy dclint ships: schemas/compose.schema.json, the schema of
 * github.com/compose-spec/compose-spec), and the rules that keep it a deployment that starts and
 * is never open. `.ci/run` also runs Debian's `docker-compose config` on it, which is stricter
 * about what docker-compose 1.29 understands.
 */

const ROOT = path.resolve(__dirname, '../..');
const COMPOSE_FILE = path.join(ROOT, 'docker-compose.yml');

type Service = {
  image?: string;
  build?: unknown;
  ports?: string[];
  environment?: Record<string, string>;
  healthcheck?: { test: unknown };
  depends_on?: Record<string, { condition: string }>;
  entrypoint?: unknown;
  volumes?: string[];
};
type ComposeFile = { name?: string; services: Record<string, Service>; networks?: Record<string, { internal?: boolean } | null> };

let validate: ValidateFunction;
let compose: ComposeFile;

beforeAll(() => {
  const schema = JSON.parse(fs.readFileSync(path.join(path.dirname(require.resolve('dclint/package.json')), 'schemas/compose.schema.json'), 'utf8'));
  // Its "$schema" names draft-07 by an address Ajv does not know; the schema is draft-07 as Ajv's default.
  delete schema.$schema;
  validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
  // Compose resolves YAML merge keys (`<<: *trellis-env`) before it validates.
  compose = YAML.parse(fs.readFileSync(COMPOSE_FILE, 'utf8'), { merge: true });
});

/** Services that run once and exit (schema set-up, namespace registration): others wait for them to complete. */
function oneShots(): string[] {
  const names = new Set<string>();
  for (const service of Object.values(compose.services)) {
    for (const [name, { condition }] of Object.entries(service.depends_on ?? {})) if (condition === 'service_completed_successfully') names.add(name);
  }
  return [...names];
}

describe('docker-compose.yml', () => {
  it('satisfies the Compose Specification\'s JSON Schema', () => {
    const valid = validate(compose);
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  it('would be refused by the schema check with a misspelt key', () => {
    const broken = structuredClone(compose);
    (broken.services['trellis-api'] as Record<string, unknown>).healthcheckk = { test: ['CMD', 'true'] };
    expect(validate(broken)).toBe(false);
    expect(validate.errors).toContainEqual(expect.objectContaining({ instancePath: '/services/trellis-api', params: { additionalProperty: 'healthcheckk' } }));
  });

  it('has no top-level name, which Debian\'s docker-compose 1.29 refuses', () => {
    expect(compose).not.toHaveProperty('name');
  });

  it('pins every image to a version', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      if (service.build !== undefined) continue;
      expect({ name, image: service.image }).toEqual({ name, image: expect.stringMatching(/^[a-z0-9./-]+:\d+(\.\d+)+$/) });
    }
  });

  it('gives every long-running service a health check, and starts each service only once what it needs is healthy or done', () => {
    const once = oneShots();
    expect(once.sort()).toEqual(['temporal-namespace', 'temporal-schema']);
    for (const [name, service] of Object.entries(compose.services)) {
      if (!once.includes(name)) expect({ name, healthcheck: service.healthcheck?.test }).toEqual({ name, healthcheck: expect.anything() });
      for (const [dependency, { condition }] of Object.entries(service.depends_on ?? {})) {
        expect({ name, dependency, condition }).toEqual({ name, dependency, condition: once.includes(dependency) ? 'service_completed_successfully' : 'service_healthy' });
      }
    }
  });

  it('runs Temporal from temporalio/server with its schemas set up by admin-tools, not the deprecated auto-setup image', () => {
    const images = Object.values(compose.services).map((service) => service.image ?? '');
    expect(images.some((image) => image.startsWith('temporalio/auto-setup'))).toBe(false);
    expect(compose.services.temporal!.image).toMatch(/^temporalio\/server:/);
    expect(compose.services['temporal-schema']!.image).toMatch(/^temporalio\/admin-tools:/);
    expect(compose.services.temporal!.environment?.DYNAMIC_CONFIG_FILE_PATH).toBeDefined();
    for (const service of [compose.services['temporal-schema']!, compose.services['temporal-namespace']!, compose.services.temporal!]) {
      for (const volume of service.volumes ?? []) expect(fs.existsSync(path.join(ROOT, volume.split(':')[0]!))).toBe(true);
    }
  });

  it('publishes neither PostgreSQL nor Temporal, and the Web UI on loopback only', () => {
    expect(compose.services.postgresql!.ports).toBeUndefined();
    expect(compose.services.temporal!.ports).toBeUndefined();
    expect(compose.services['temporal-ui']!.ports).toEqual([expect.stringMatching(/^127\.0\.0\.1:\d+:\d+$/)]);
    expect(compose.networks?.backend).toEqual({ internal: true });
    expect(compose.services['temporal-ui']!.environment?.TEMPORAL_CODEC_ENDPOINT).toMatch(/\/codec$/);
  });

  it('requires one shared TRELLIS_SECRET_KEY and a bootstrap admin key, and never opens a keyless API to the network', () => {
    const api = compose.services['trellis-api']!.environment!;
    const worker = compose.services['trellis-worker']!.environment!;
    expect(api.TRELLIS_SECRET_KEY).toMatch(/^\$\{TRELLIS_SECRET_KEY:\?.+\}$/);
    expect(worker.TRELLIS_SECRET_KEY).toBe(api.TRELLIS_SECRET_KEY);
    expect(api.TRELLIS_BOOTSTRAP_ADMIN_KEY).toMatch(/^\$\{TRELLIS_BOOTSTRAP_ADMIN_KEY:\?.+\}$/);
    expect(api.TRELLIS_OPERATOR_TENANT).toBeDefined();
    for (const service of Object.values(compose.services)) expect(service.environment?.TRELLIS_ALLOW_REMOTE).toBeUndefined();
  });
});

describe('Dockerfile', () => {
  const dockerfile = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
  const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));

  it('runs as a numeric non-root user, so Kubernetes\' runAsNonRoot can verify it', () => {
    const users = [...runtime.matchAll(/^USER\s+(\S+)/gm)].map((match) => match[1]);
    expect(users).toHaveLength(1);
    expect(users[0]).toMatch(/^[1-9]\d*(:\d+)?$/);
  });

  it('has a health check and a data volume the user owns', () => {
    expect(runtime).toMatch(/^HEALTHCHECK .*scripts\/healthcheck\.mjs/m);
    expect(fs.existsSync(path.join(ROOT, 'scripts/healthcheck.mjs'))).toBe(true);
    expect(runtime).toMatch(/TRELLIS_DATA_DIR=\/data/);
    expect(runtime).toMatch(/chown 1000:1000 \/data/);
  });
});
