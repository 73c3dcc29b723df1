import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';

/**
 * deploy/kubernetes (issue 14, item 2): the rules a reviewer would check by hand. `.ci/run`
 * validates the same files against the Kubernetes schemas (kubernetes-validate --strict).
 */

const DIR = path.resolve(__dirname, '../../deploy/kubernetes');

type Resource = { kind: string; metadata: { name: string }; spec?: any; data?: Record<string, string> };

const kustomization = YAML.parse(fs.readFileSync(path.join(DIR, 'kustomization.yaml'), 'utf8')) as { resources: string[]; images: Array<{ name: string; newTag?: string }> };
const resources: Resource[] = kustomization.resources.flatMap((file) =>
  YAML.parseAllDocuments(fs.readFileSync(path.join(DIR, file), 'utf8')).map((document) => document.toJS() as Resource),
);
const deployments = resources.filter((resource) => resource.kind === 'Deployment');

function deployment(name: string): Resource {
  const found = deployments.find((resource) => resource.metadata.name === name);
  if (!found) throw new Error(`no Deployment ${name}`);
  return found;
}

function envOf(name: string): Record<string, any> {
  const container = deployment(name).spec.template.spec.containers[0];
  return Object.fromEntries(container.env.map((variable: { name: string }) => [variable.name, variable]));
}

describe('the Kubernetes manifests', () => {
  it('deploy the API and the worker roles as separate Deployments, each with a disruption budget', () => {
    expect(deployments.map((resource) => resource.metadata.name).sort()).toEqual(['trellis-api', 'trellis-worker']);
    expect(envOf('trellis-api').TRELLIS_ROLE.value).toBe('api');
    expect(envOf('trellis-worker').TRELLIS_ROLE.value).toBe('worker');
    const budgets = resources.filter((resource) => resource.kind === 'PodDisruptionBudget');
    for (const { spec } of deployments) {
      expect(budgets.some((budget) => JSON.stringify(budget.spec.selector.matchLabels) === JSON.stringify(spec.selector.matchLabels))).toBe(true);
    }
  });

  it('run every container as a non-root user on a read-only root filesystem, without privileges, with requests and limits', () => {
    for (const { metadata, spec } of deployments) {
      const pod = spec.template.spec;
      expect({ name: metadata.name, pod: pod.securityContext }).toEqual({ name: metadata.name, pod: expect.objectContaining({ runAsNonRoot: true, runAsUser: expect.any(Number) }) });
      expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
      expect(pod.automountServiceAccountToken).toBe(false);
      for (const container of pod.containers) {
        expect(container.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
        expect(container.resources.requests).toEqual({ cpu: expect.anything(), memory: expect.anything() });
        expect(container.resources.limits).toEqual(expect.objectContaining({ memory: expect.anything() }));
        expect(container.startupProbe).toBeDefined();
        expect(container.livenessProbe).toBeDefined();
      }
    }
  });

  it('probe the API on /health and expose it through a Service', () => {
    const api = deployment('trellis-api').spec.template.spec.containers[0];
    expect(api.readinessProbe.httpGet.path).toBe('/health');
    expect(api.startupProbe.httpGet.path).toBe('/health');
    const service = resources.find((resource) => resource.kind === 'Service' && resource.metadata.name === 'trellis-api');
    expect(service?.spec.selector).toEqual(deployment('trellis-api').spec.selector.matchLabels);
  });

  it('read TRELLIS_SECRET_KEY and DATABASE_URL from the Secret in both roles, and give the bootstrap key to the API only', () => {
    for (const name of ['trellis-api', 'trellis-worker']) {
      expect(envOf(name).TRELLIS_SECRET_KEY.valueFrom.secretKeyRef).toEqual({ name: 'trellis', key: 'TRELLIS_SECRET_KEY' });
      expect(envOf(name).DATABASE_URL.valueFrom.secretKeyRef).toEqual({ name: 'trellis', key: 'DATABASE_URL' });
    }
    expect(envOf('trellis-api').TRELLIS_BOOTSTRAP_ADMIN_KEY.valueFrom.secretKeyRef).toEqual({ name: 'trellis', key: 'TRELLIS_BOOTSTRAP_ADMIN_KEY' });
    expect(envOf('trellis-worker').TRELLIS_BOOTSTRAP_ADMIN_KEY).toBeUndefined();
    const config = resources.find((resource) => resource.kind === 'ConfigMap');
    expect(config?.data).toEqual(expect.objectContaining({ NODE_ENV: 'production', TEMPORAL_ADDRESS: expect.any(String), TRELLIS_OPERATOR_TENANT: expect.any(String) }));
    // Nothing secret in the ConfigMap, and no keyless API.
    expect(Object.keys(config?.data ?? {})).not.toEqual(expect.arrayContaining(['TRELLIS_SECRET_KEY']));
    expect(config?.data?.TRELLIS_ALLOW_REMOTE).toBeUndefined();
  });

  it('pin the image to a version', () => {
    expect(kustomization.images).toEqual([expect.objectContaining({ name: 'trellis', newTag: expect.stringMatching(/^\d+\.\d+\.\d+$/) })]);
  });
});
